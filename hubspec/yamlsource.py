"""Read YAML into plain Python values while remembering the line of every node.

ruamel's round-trip types (ScalarBoolean is an int, ScalarFloat, CommentedMap)
confuse JSON Schema type checks, so the data is converted to plain dict/list/
str/int/float/bool and the line numbers are kept in a side table keyed by path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from hubspec.errors import SpecError

PathT = tuple[Any, ...]


@dataclass
class YamlDoc:
    """A parsed file: plain data plus 1-based line numbers per path."""

    file: str
    data: Any
    lines: dict[PathT, int] = field(default_factory=dict)

    def line_of(self, path: PathT) -> int:
        """Line of the deepest known node on `path` (the key's line for a mapping value)."""
        path = tuple(path)
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)


def format_path(path: PathT) -> str:
    """`health_check.interval`, `sizes[1]`; `$` for the document itself."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "$"


def display_name(path: Path) -> str:
    """Path as the user would type it: relative to the working directory when possible."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _plain(node: Any, path: PathT, lines: dict[PathT, int]) -> Any:
    if isinstance(node, CommentedMap):
        out = {}
        for key, value in node.items():
            key_line = node.lc.key(key)[0] + 1 if node.lc.data and key in node.lc.data else None
            child = path + (str(key),)
            if key_line is not None:
                lines[child] = key_line
            out[str(key)] = _plain(value, child, lines)
        return out
    if isinstance(node, CommentedSeq):
        out_list = []
        for i, value in enumerate(node):
            child = path + (i,)
            if node.lc.data and i in node.lc.data:
                lines[child] = node.lc.item(i)[0] + 1
            out_list.append(_plain(value, child, lines))
        return out_list
    if isinstance(node, bool):
        return bool(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node


def load_yaml(path: Path) -> tuple[YamlDoc | None, list[SpecError]]:
    """Parse one file; a parse error, an empty file or a missing file is a SpecError."""
    name = display_name(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return None, [SpecError(name, 1, "$", f"cannot read file: {exc.strerror or exc}")]
    except UnicodeDecodeError:
        return None, [SpecError(name, 1, "$", "file is not UTF-8 text")]
    yaml = YAML(typ="rt")
    try:
        node = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = (exc.problem or exc.context or "invalid YAML").strip()
        return None, [SpecError(name, line, "$", f"invalid YAML: {problem}")]
    except YAMLError as exc:
        return None, [SpecError(name, 1, "$", f"invalid YAML: {exc}")]
    if node is None:
        return None, [SpecError(name, 1, "$", "file is empty; expected a mapping")]
    lines: dict[PathT, int] = {(): 1}
    data = _plain(node, (), lines)
    return YamlDoc(name, data, lines), []

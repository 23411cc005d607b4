"""Read YAML into plain Python values while remembering the line of every node.

ruamel's round-trip types (ScalarBoolean is an int, ScalarFloat, CommentedMap)
confuse JSON Schema type checks, so the data is converted to plain dict/list/
str/int/float/bool and the line numbers are kept in a side table keyed by path.
"""

from __future__ import annotations

import unicodedata
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
        elif not str(part).isprintable():  # a key with a control character stays on one line
            out += f"[{str(part)!r}]"
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
    doc = YamlDoc(name, data, lines)
    errors = control_character_errors(doc)
    return (None, errors) if errors else (doc, [])


def _control_character(text: str) -> str | None:
    """The first control character (Unicode Cc, line or paragraph separator) in `text`, or None."""
    for char in text:
        if unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            return char
    return None


def control_character_errors(doc: YamlDoc) -> list[SpecError]:
    """No key or string anywhere may hold a control character, newline and tab included.

    Every value ends up in a family name, an image reference, a shell line or a
    one-line report; a final newline (which Python's `$` lets through a pattern)
    or a NUL would be a broken task definition or probe, so the whole file is
    refused before any other check sees it.
    """
    errors: list[SpecError] = []

    def check(text: str, path: PathT, what: str) -> None:
        char = _control_character(text)
        if char is not None:
            hint = (
                "; a YAML block scalar (| or >) keeps its final newline, use |- or >-"
                if text.endswith("\n") and char == "\n"
                else ""
            )
            errors.append(
                SpecError(
                    doc.file,
                    doc.line_of(path),
                    format_path(path),
                    f"{what} {text!r} contains the control character U+{ord(char):04X}; "
                    f"keys and values must be single-line printable text{hint}",
                )
            )

    def walk(value: Any, path: PathT) -> None:
        if isinstance(value, dict):
            for key, child in value.items():
                check(key, path + (key,), "key")
                walk(child, path + (key,))
        elif isinstance(value, list):
            for i, child in enumerate(value):
                walk(child, path + (i,))
        elif isinstance(value, str):
            check(value, path, "value")

    walk(doc.data, ())
    return errors

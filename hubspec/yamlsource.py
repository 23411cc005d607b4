"""Read YAML into plain Python values while remembering the line of every node.

ruamel's round-trip types (ScalarBoolean is an int, ScalarFloat, CommentedMap)
confuse JSON Schema type checks, so the data is converted to plain dict/list/
str/int/float/bool and the line numbers are kept in a side table keyed by path.
"""

from __future__ import annotations

import errno
import os
import stat
import threading
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import CollectionEndEvent, CollectionStartEvent, NodeEvent

from hubspec.errors import SpecError, SpecErrors

PathT = tuple[Any, ...]

# Bounds on what one spec file may cost to read (issue 9, item 6). A service file is about 1 KB.
MAX_FILE_BYTES = 64 * 1024
MAX_DEPTH = 32  # nesting of mappings and lists; the schemas need 4
MAX_VALUES = 10_000  # values after alias expansion ("billion laughs" stops here)

_FILE_KINDS = (
    (stat.S_ISFIFO, "named pipe (FIFO)"),
    (stat.S_ISCHR, "character device"),
    (stat.S_ISBLK, "block device"),
    (stat.S_ISSOCK, "socket"),
)


_PARSERS = threading.local()


def parser() -> YAML:
    """This thread's round-trip parser, made once: building a `YAML()` costs about as much as parsing
    a service file. ruamel resets the parser after every `load`/`parse`, also after an error."""
    yaml: YAML | None = getattr(_PARSERS, "yaml", None)
    if yaml is None:
        yaml = _PARSERS.yaml = YAML(typ="rt")
    return yaml


class _TooBig(Exception):
    """The document expands past MAX_VALUES values or MAX_DEPTH levels (through aliases)."""


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
    """Path as the user would type it: relative to the working directory when possible.

    A symbolic link is named as itself, not as its target (which may be missing or a loop).
    """
    try:
        return str((path.parent.resolve() / path.name).relative_to(Path.cwd().resolve()))
    except (ValueError, OSError, RuntimeError):
        return str(path)


def file_problem(path: Path, *, max_bytes: int = MAX_FILE_BYTES, kind: str = "a spec file") -> str | None:
    """Why `path` is not a regular, readable file of at most `max_bytes`, or None."""
    try:
        st = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "is a symbolic link loop; expected a file"
        if exc.errno == errno.ENOENT and os.path.islink(path):
            return f"is a symbolic link to {os.readlink(path)!r}, which does not exist"
        return f"cannot read file: {exc.strerror or exc}"
    if stat.S_ISDIR(st.st_mode):
        return "is a directory; expected a file"
    for test, file_kind in _FILE_KINDS:
        if test(st.st_mode):
            return f"is a {file_kind}, not a regular file"
    if st.st_size > max_bytes:
        return f"file is {st.st_size} bytes; {kind} may have at most {max_bytes}"
    return None


def read_text(path: Path, *, max_bytes: int, kind: str) -> str:
    """The UTF-8 text of a regular file of at most `max_bytes`; SpecErrors (`file:1: $: ...`) otherwise."""
    name = display_name(path)
    problem = file_problem(path, max_bytes=max_bytes, kind=kind)
    if problem is None:
        try:
            with open(path, "rb") as stream:
                raw = stream.read(max_bytes + 1)  # the file may have grown since it was checked
            if len(raw) > max_bytes:
                problem = f"file is more than {max_bytes} bytes; {kind} may have at most {max_bytes}"
            else:
                return raw.decode("utf-8")
        except OSError as exc:
            problem = f"cannot read file: {exc.strerror or exc}"
        except UnicodeDecodeError:
            problem = "file is not UTF-8 text"
    raise SpecErrors([SpecError(name, 1, "$", problem)])


def _plain(node: Any, path: PathT, lines: dict[PathT, int], budget: list[int]) -> Any:
    budget[0] -= 1
    if budget[0] < 0 or len(path) > MAX_DEPTH:
        raise _TooBig
    if isinstance(node, CommentedMap):
        out = {}
        for key, value in node.items():
            key_line = node.lc.key(key)[0] + 1 if node.lc.data and key in node.lc.data else None
            child = path + (str(key),)
            if key_line is not None:
                lines[child] = key_line
            out[str(key)] = _plain(value, child, lines, budget)
        return out
    if isinstance(node, CommentedSeq):
        out_list = []
        for i, value in enumerate(node):
            child = path + (i,)
            if node.lc.data and i in node.lc.data:
                lines[child] = node.lc.item(i)[0] + 1
            out_list.append(_plain(value, child, lines, budget))
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


def _event_errors(yaml: YAML, text: str, name: str) -> list[SpecError]:
    """Refuse explicit tags and deep nesting from the event stream, before anything is built.

    ruamel's parser is iterative, so 5,000 nested brackets cost nothing here, while
    building them (recursively) would raise RecursionError. A tag such as `!Ref` or
    `!!python/object` would be dropped silently by the round-trip loader (or change
    the type), so every explicit tag is an error.
    """
    errors: list[SpecError] = []
    depth = 0
    for event in yaml.parse(text):
        line = event.start_mark.line + 1 if event.start_mark else 1
        tag = getattr(event, "tag", None) if isinstance(event, NodeEvent) else None
        if tag is not None:
            shown = str(tag).replace("tag:yaml.org,2002:", "!!", 1)
            errors.append(
                SpecError(name, line, "$", f"YAML tag {shown!r} is not supported; write a plain value without a tag")
            )
        if isinstance(event, CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                errors.append(SpecError(name, line, "$", f"nesting is deeper than {MAX_DEPTH} levels"))
                break
        elif isinstance(event, CollectionEndEvent):
            depth -= 1
    return errors


def load_yaml(path: Path) -> tuple[YamlDoc | None, list[SpecError]]:
    """Parse one file; a parse error, an empty file or a missing file is a SpecError."""
    name = display_name(path)
    problem = file_problem(path)
    if problem is not None:
        return None, [SpecError(name, 1, "$", problem)]
    try:
        with open(path, "rb") as stream:
            raw = stream.read(MAX_FILE_BYTES + 1)  # the file may have grown since it was checked
        if len(raw) > MAX_FILE_BYTES:
            return None, [SpecError(name, 1, "$", f"file is more than {MAX_FILE_BYTES} bytes")]
        text = raw.decode("utf-8")
    except OSError as exc:
        return None, [SpecError(name, 1, "$", f"cannot read file: {exc.strerror or exc}")]
    except UnicodeDecodeError:
        return None, [SpecError(name, 1, "$", "file is not UTF-8 text")]
    yaml = parser()
    try:
        event_errors = _event_errors(yaml, text, name)
        if event_errors:
            return None, event_errors
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
    try:
        data = _plain(node, (), lines, [MAX_VALUES])
    except _TooBig:
        message = f"aliases expand to more than {MAX_VALUES} values or {MAX_DEPTH} levels; write the values out"
        return None, [SpecError(name, 1, "$", message)]
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

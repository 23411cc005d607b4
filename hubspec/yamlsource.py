"""Read YAML into plain Python values while remembering the line of every node.

ruamel's round-trip types (ScalarBoolean is an int, ScalarFloat, CommentedMap)
confuse JSON Schema type checks, so the data is converted to plain dict/list/
str/int/float/bool and the line numbers are kept in a side table keyed by path.

Two readers, one result. The fast one walks the event stream of libyaml's C parser
(ruamel.yaml.clib) once and builds the plain data and the line table itself; it
takes only plain documents (one document, a mapping at the top, string keys, no
tag, anchor, alias, directive, duplicate key, timestamp or merge key, within the
depth and value bounds) and declines everything else. Whatever it declines, and
every file when the C parser is not installed, goes through ruamel's round-trip
reader, which owns every refusal and every error message. A test runs both
readers over every YAML file of the repository and generated documents.
"""

from __future__ import annotations

import errno
import functools
import os
import re
import stat
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    CollectionEndEvent,
    CollectionStartEvent,
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    NodeEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
    StreamStartEvent,
)
from ruamel.yaml.reader import Reader
from ruamel.yaml.resolver import VersionedResolver

try:  # libyaml's parser, from ruamel.yaml.clib (CPython wheels); without it every file takes the round-trip path
    from _ruamel_yaml import CParser as C_PARSER
except ImportError:  # pragma: no cover - the pinned set installs it
    C_PARSER = None

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
        return str((path.parent.resolve() / path.name).relative_to(_resolved_cwd(os.getcwd())))
    except (ValueError, OSError, RuntimeError):
        return str(path)


@functools.lru_cache(maxsize=8)
def _resolved_cwd(cwd: str) -> Path:
    """The working directory, resolved once per spelling (`check` names three paths per file)."""
    return Path(cwd).resolve()


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


class _Declined(Exception):
    """The fast reader does not take this document; the round-trip reader will."""


_DISAGREE = re.compile("[\t\x85\u2028\u2029\ufeff]|" + Reader.NON_PRINTABLE.pattern)
# ruamel's implicit resolvers for YAML 1.2 (how the round-trip reader resolves a document without
# %YAML), by the first character of a plain scalar: [(tag, regexp)], tried in order.
_IMPLICIT = VersionedResolver().versioned_resolver
_TAG = "tag:yaml.org,2002:"


def _scalar(event: Any) -> Any:
    """The plain value the round-trip reader gives a scalar event (a str, None, bool, int or float)."""
    if event.anchor is not None or event.tag is not None:
        raise _Declined
    if not event.implicit[0]:  # quoted or block scalar
        return event.value
    return _plain_scalar(event.value)


@functools.lru_cache(maxsize=4096)
def _plain_scalar(value: str) -> Any:
    """A plain scalar's value: resolved as ruamel's resolver does, built as its round-trip constructor
    does, then made plain (ScalarInt, ScalarFloat and ScalarBoolean become int, float and bool)."""
    kind = _TAG + "str"
    for tag, regexp in [*_IMPLICIT.get(value[:1], ()), *_IMPLICIT.get(None, ())]:
        if regexp.match(value):
            kind = tag
            break
    if kind == _TAG + "str":
        return value
    if kind == _TAG + "null":
        return None
    if kind == _TAG + "bool":
        return value.lower() == "true"
    digits = value.replace("_", "")
    sign = -1 if digits[0] == "-" else 1
    digits = digits.lstrip("+-")
    if kind == _TAG + "int":
        base = {"0b": 2, "0o": 8, "0x": 16}.get(digits[:2])
        return sign * (int(digits[2:], base) if base else int(digits))
    if kind == _TAG + "float":
        digits = digits.lower()
        if digits == ".nan":
            return float("nan")
        return sign * float("inf" if digits == ".inf" else digits)
    raise _Declined  # timestamp, merge key `<<`, value key `=`


def _fast_read(text: str) -> tuple[Any, dict[PathT, int]]:
    """Plain data and line table from libyaml's event stream, or _Declined."""
    # Characters where the two parsers disagree: ruamel refuses a tab in places libyaml takes
    # (before a comment, inside or after a plain value); libyaml counts U+0085, U+2028 and U+2029
    # as line breaks (YAML 1.1), ruamel does not; a byte order mark or a character ruamel's reader
    # calls non-printable may be taken or placed differently.
    if C_PARSER is None or _DISAGREE.search(text):
        raise _Declined
    try:
        events = iter(_events(C_PARSER(text)))
        if not isinstance(next(events), StreamStartEvent):
            raise _Declined
        start = next(events)
        if not isinstance(start, DocumentStartEvent) or start.version is not None or start.tags:
            raise _Declined
        root = next(events)
        if not isinstance(root, MappingStartEvent):
            raise _Declined
        lines: dict[PathT, int] = {(): 1}
        budget = [MAX_VALUES - 1]
        data = _fast_mapping(root, events, (), lines, budget)
        if not isinstance(next(events), DocumentEndEvent) or not isinstance(next(events), StreamEndEvent):
            raise _Declined
    except _Declined:
        raise
    except Exception:  # libyaml's refusal: the round-trip reader words it
        raise _Declined from None
    return data, lines


def _events(parser: Any) -> Any:
    while True:
        event = parser.get_event()
        yield event
        if isinstance(event, StreamEndEvent):
            return


def _fast_node(event: Any, events: Any, path: PathT, lines: dict[PathT, int], budget: list[int]) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise _Declined
    if isinstance(event, ScalarEvent):
        return _scalar(event)
    if isinstance(event, MappingStartEvent):
        return _fast_mapping(event, events, path, lines, budget)
    if isinstance(event, SequenceStartEvent):
        if event.anchor is not None or event.tag is not None or len(path) >= MAX_DEPTH:
            raise _Declined
        out: list[Any] = []
        for item in events:
            if isinstance(item, SequenceEndEvent):
                return out
            child = path + (len(out),)
            lines[child] = item.start_mark.line + 1
            out.append(_fast_node(item, events, child, lines, budget))
    raise _Declined  # an alias


def _fast_mapping(event: Any, events: Any, path: PathT, lines: dict[PathT, int], budget: list[int]) -> Any:
    if event.anchor is not None or event.tag is not None or len(path) >= MAX_DEPTH:
        raise _Declined
    out: dict[str, Any] = {}
    for key in events:
        if isinstance(key, MappingEndEvent):
            return out
        if not isinstance(key, ScalarEvent):
            raise _Declined
        name = _scalar(key)
        if not isinstance(name, str) or name in out:
            raise _Declined  # a key that is not a string (its text would change), or a duplicate
        child = path + (name,)
        lines[child] = key.start_mark.line + 1
        out[name] = _fast_node(next(events), events, child, lines, budget)
    raise _Declined


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
    try:
        data, lines = _fast_read(text)
    except _Declined:
        return _roundtrip_read(text, name)
    doc = YamlDoc(name, data, lines)
    errors = control_character_errors(doc)
    return (None, errors) if errors else (doc, [])


def _roundtrip_read(text: str, name: str) -> tuple[YamlDoc | None, list[SpecError]]:
    """ruamel's round-trip reader: every document, every refusal and its message."""
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


# Unicode's Cc category is exactly U+0000-U+001F and U+007F-U+009F (fixed by Unicode's stability
# policy); Zl and Zp are U+2028 and U+2029. A test checks the class against unicodedata.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _control_character(text: str) -> str | None:
    """The first control character (Unicode Cc, line or paragraph separator) in `text`, or None."""
    match = _CONTROL.search(text)
    return match.group() if match else None


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

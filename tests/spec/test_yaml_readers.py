"""The fast YAML reader (libyaml's events) and the round-trip reader give the same answer.

`load_yaml` reads plain documents with libyaml's C parser and hands everything else to ruamel's
round-trip reader (hubspec/yamlsource.py). A user sees one reader: the same data, the same line
for every path and the same error messages whichever path a file takes. Each case here is read
both ways and the results compared (data by repr, so 1, 1.0 and True stay apart).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from hubspec import yamlsource

REPO = Path(__file__).resolve().parents[2]
REPO_YAML = sorted(
    p.relative_to(REPO)
    for pattern in ("*.yaml", "*.yml", "*.json")
    for p in REPO.rglob(pattern)
    if not {".venv", "node_modules", "cdk.out", ".git", "build", "dist"} & set(p.relative_to(REPO).parts)
    and p.name != "package-lock.json"  # npm's lock file: large, and no reader of this project reads it
)


def both_ways(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[tuple, tuple]:
    def read() -> tuple:
        doc, errors = yamlsource.load_yaml(path)
        if doc is None:
            return (None, [str(e) for e in errors])
        return (repr(doc.data), doc.lines)

    fast = read()
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:  # a directory, a dangling link: refused before either reader
        text = None
    if text is None or declined(text):
        return fast, fast  # both ways are the same code: nothing to compare, nothing to read twice
    with monkeypatch.context() as m:
        m.setattr(yamlsource, "C_PARSER", None)
        slow = read()
    return fast, slow


def declined(text: str) -> bool:
    try:
        yamlsource._fast_read(text)
    except yamlsource._Declined:
        return True
    return False


def test_the_c_parser_is_installed_and_reads_the_bundled_catalog() -> None:
    """Without it `hubspec check` on 1,000 files takes seconds, not a fraction of one."""
    assert yamlsource.C_PARSER is not None
    for path in [*sorted((REPO / "services").glob("*.yaml")), REPO / "sizes.yaml"]:
        assert not declined(path.read_text()), path


@pytest.mark.parametrize("relative", REPO_YAML, ids=str)
def test_every_yaml_file_of_the_repository_reads_the_same_both_ways(relative: Path, monkeypatch) -> None:
    fast, slow = both_ways(REPO / relative, monkeypatch)
    assert fast == slow


CASES = {
    "plain": "name: chat\nport: 8888\nsizes: [small, medium]\n",
    "comments": "# top\nname: chat # trailing\n\n# between\nport: 1\n",
    "document markers": "---\nname: chat\n...\n",
    "crlf": "name: chat\r\nhealth_check:\r\n  interval: 15\r\n",
    "tab before comment": "name: chat\t# c\nport: 1\n",
    "tab in value": "name: a\tb\n",
    "tab indentation": "a:\n\tb: 1\n",
    "literal block": "cmd: |\n  line one\n  line two\nnext: 1\n",
    "literal strip": "cmd: |-\n  line\n",
    "literal keep": "cmd: |+\n  line\n\n\nnext: 1\n",
    "folded": "cmd: >\n  one\n  two\n\n  three\nnext: 1\n",
    "folded strip indent": "cmd: >2-\n   one\n  two\n",
    "multi-line plain": "cmd: one\n  two\n  three\nnext: 1\n",
    "quoted": "a: 'it''s'\nb: \"tab\\there \\u00e9\"\nc: '1'\nd: \"true\"\n",
    "multi-line quoted": "a: \"one\n  two\"\nb: 'x\n\n  y'\n",
    "flow": "a: {b: 1, c: [x, {d: null}], e: []}\nf: {}\n",
    "flow multi-line": "a: [\n  1,\n  2,\n]\nb: {\n  c: 1\n}\n",
    "block sequences": "a:\n- 1\n- - 2\n  - 3\n- b: 4\n  c: 5\n-\n  d: 6\n",
    "indented sequence": "a:\n  - x\n  -   y\n",
    "empty values": "a:\nb: ~\nc: null\nd: Null\ne: NULL\nf: ''\n",
    "booleans": "a: true\nb: True\nc: TRUE\nd: false\ne: yes\nf: no\ng: on\nh: y\n",
    "integers": "a: 0\nb: -12\nc: +3\nd: 007\ne: 0x1F\nf: 0o17\ng: 0b101\nh: 1_000\ni: 0x_1\nj: 12345678901234567890\n",
    "floats": "a: 1.5\nb: -0.0\nc: 1.\nd: .5\ne: 1e3\nf: 1.5E-2\ng: .inf\nh: -.Inf\ni: .NaN\nj: 1_0.5\nk: +.INF\n",
    "not numbers": "a: 1.2.3\nb: 0x\nc: 1:20\nd: 0o8\ne: 1e\nf: -\ng: 08\n",
    "timestamps": "a: 2024-01-01\nb: 2024-01-01T10:00:00Z\n",
    "keys of other types": "1: a\ntrue: b\nnull: c\n1.5: d\n",
    "quoted keys": "'1': a\n\"two words\": b\n",
    "merge key": "base: &b {x: 1}\nd:\n  <<: *b\n  y: 2\n",
    "value key": "=: 1\n",
    "anchors and aliases": "a: &x [1, 2]\nb: *x\n",
    "anchor on a scalar": "a: &x 1\nb: *x\n",
    "duplicate key": "a: 1\nb: 2\na: 3\n",
    "duplicate key in a flow mapping": "a: {b: 1, b: 2}\n",
    "complex key": "? [a, b]\n: 1\n",
    "explicit key": "? a\n: 1\n",
    "tags": "a: !Ref x\nb: !!int '3'\nc: !!str 1\nd: !\n  e\n",
    "tagged collections": "a: !!map {b: 1}\nb: !!seq [1]\n",
    "directive": "%YAML 1.1\n---\na: 010\nb: yes\n",
    "tag directive": "%TAG !e! tag:example.com,2000:\n---\na: 1\n",
    "two documents": "a: 1\n---\nb: 2\n",
    "empty": "",
    "only comments": "# nothing\n",
    "null document": "~\n",
    "top-level list": "- a\n- b\n",
    "top-level scalar": "chat\n",
    "byte order mark": "\ufeffa: 1\n",
    "byte order mark inside": "a: x\ufeffy\n",
    "non-printable": "a: x\x07y\n",
    "escaped control character": 'a: "x\\x07y"\nb: "\\n"\n',
    "del and next line": "a: x\x7fy\nb: x\x85y\n",
    "unicode": "name: caf\u00e9\nemoji: \U0001f600\n",
    "yaml 1.1 line breaks": "? '\x85  '\n:\n'':\na: x\u2028y\nb: 'x\u2029y'\n",
    "carriage returns only": "a: 1\rb:\r  - x\r",
    "key with newline": '"a\\nb": 1\n',
    "long key": "a" * 1100 + ": 1\n",
    "unclosed flow": "a: [1, 2\n",
    "unclosed quote": "a: 'x\n",
    "bad indentation": "a: 1\n b: 2\n",
    "mapping in plain": "a: b: c\n",
    "trailing tab": "a: 1\t\n",
    "colon without space": "a:1\nb: http://x:8080/health\n",
    "hash in plain": "a: x#y\nb: 'x # y'\n",
    "deep": "a: " + "[" * 31 + "]" * 31 + "\n",  # with the top mapping, 32 levels: the bound
    "too deep": "a: " + "[" * 32 + "]" * 32 + "\n",
    "too deep blocks": "".join("  " * i + f"k{i}:\n" for i in range(34)) + "  " * 34 + "v\n",
    "billion laughs": "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n",
}


@pytest.mark.parametrize("text", CASES.values(), ids=CASES.keys())
def test_edge_cases_read_the_same_both_ways(text: str, tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "chat.yaml"
    path.write_text(text, encoding="utf-8", newline="")
    fast, slow = both_ways(path, monkeypatch)
    assert fast == slow


@pytest.mark.parametrize("name", ["plain", "block sequences", "floats", "multi-line plain", "folded", "deep"])
def test_plain_documents_take_the_fast_path(name: str) -> None:
    assert not declined(CASES[name])


@pytest.mark.parametrize(
    "name",
    ["merge key", "anchors and aliases", "duplicate key", "tags", "directive", "too deep"]
    + ["tab in value", "byte order mark", "non-printable"],
)
def test_what_the_round_trip_reader_refuses_or_expands_takes_its_path(name: str) -> None:
    assert declined(CASES[name])


@pytest.mark.parametrize(("items", "fast"), [(17, True), (18, True), (19, False)])
def test_the_value_bound_is_the_same_both_ways(items: int, fast: bool, tmp_path: Path, monkeypatch) -> None:
    """The top mapping, the list and its items count as values (keys do not); the bound is lowered to 20
    so that the round-trip reader does not spend a second on 10,000 values."""
    monkeypatch.setattr(yamlsource, "MAX_VALUES", 20)
    text = "a: [" + ", ".join(["1"] * items) + "]\n"
    path = tmp_path / "chat.yaml"
    path.write_text(text)
    fast_result, slow_result = both_ways(path, monkeypatch)
    assert fast_result == slow_result
    assert declined(text) is not fast
    assert (slow_result[0] is None) is (items == 19)


keys = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=10),
    st.sampled_from(["yes", "No", "~", "0x1f", "1_0", "08", "1e3", ".5", "2024-01-01", "a: b", "- x", "#", "'"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=3)),
    max_leaves=8,
)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.dictionaries(keys, values, min_size=1, max_size=4),
    flow=st.sampled_from([None, True, False]),
    indent=st.sampled_from([(2, 2, 0), (4, 4, 2), (2, 4, 2)]),
    width=st.sampled_from([20, 80, 4096]),
)
def test_generated_documents_read_the_same_both_ways(data, flow, indent, width, tmp_path: Path, monkeypatch) -> None:
    writer = YAML(typ="rt")
    writer.default_flow_style = flow
    writer.indent(mapping=indent[0], sequence=indent[1], offset=indent[2])
    writer.width = width
    path = tmp_path / "generated.yaml"
    with open(path, "w", encoding="utf-8", newline="") as stream:
        writer.dump(data, stream)
    fast, slow = both_ways(path, monkeypatch)
    assert fast == slow


def test_the_control_character_class_is_unicodes() -> None:
    """Keys and values are refused for a control character: Unicode's Cc, Zl and Zp, nothing else."""
    import sys
    import unicodedata

    for code in range(sys.maxunicode + 1):
        char = chr(code)
        expected = unicodedata.category(char) in ("Cc", "Zl", "Zp")
        assert (yamlsource._control_character(f"a{char}b") == char) is expected, hex(code)

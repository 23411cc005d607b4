"""Issue 9, items 1-8: bad input that used to get through, each refused by one rule with file:line."""

from __future__ import annotations

from typing import Any

import pytest

from hubspec.loader import _validator, schema


def _patterns(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
        return found + [p for child in node.values() for p in _patterns(child)]
    if isinstance(node, list):
        return [p for child in node for p in _patterns(child)]
    return []


# ---- 1. control characters and the end of a pattern -------------------------------------------


@pytest.mark.parametrize("name", ["service", "sizes"])
def test_every_schema_pattern_is_anchored_at_both_ends(name: str) -> None:
    """ECMA's `$` is the end of the string; the loader gives Python's search that meaning."""
    for pattern in _patterns(schema(name)):
        assert pattern.startswith("^") and pattern.endswith("$"), pattern


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("name",), "chat\n"),
        (("image",), "example/chat:1\n"),
        (("health_check", "endpoint"), "/health\n"),
        (("health_check", "custom_health_command"), "curl -f http://127.0.0.1:1/\n"),
    ],
)
def test_a_final_newline_does_not_pass_a_schema_pattern(path: tuple[str, ...], value: str) -> None:
    """Even without the control-character rule in front of it, the schema refuses a trailing newline."""
    doc: dict[str, Any] = {
        "name": "chat",
        "image": "example/chat:1",
        "sizes": ["small"],
        "health_check": {"interval": 15, "timeout": 10, "retries": 8, "start_period": 45},
    }
    target = doc
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    errors = list(_validator("service").iter_errors(doc))
    assert [tuple(e.absolute_path) for e in errors] == [path]
    assert errors[0].validator == "pattern"


def test_a_size_name_with_a_final_newline_does_not_pass() -> None:
    errors = list(_validator("sizes").iter_errors({"sizes": {"small\n": {"cpu": 256, "memory": 512}}}))
    assert [e.validator for e in errors] == ["pattern"]

"""Whatever a service file holds, loading ends in a Catalog or in SpecErrors: never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hubspec import SpecErrors, load_catalog
from tests.catalogs import FIXTURE_SIZES

VALID = {
    "name": "chat",
    "image": "example/chat:1",
    "port": 8888,
    "sizes": ["small"],
    "health_check": {
        "endpoint": "/health",
        "interval": 15,
        "timeout": 10,
        "retries": 8,
        "start_period": 45,
        "use_container_root": True,
        "custom_health_command": "curl -f http://127.0.0.1:1/ || exit 1",
    },
}
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**6), 10**6), st.floats(allow_nan=False), st.text(max_size=12)
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6,
)
paths = st.sampled_from(
    [(k,) for k in VALID]
    + [("health_check", k) for k in VALID["health_check"]]
    + [("extra",), ("health_check", "extra")]
)


def _with(doc: dict, path: tuple, value) -> dict:
    doc = json.loads(json.dumps(doc))
    target = doc
    for part in path[:-1]:
        target = target[part]
    if isinstance(target, dict):  # an earlier change may have replaced the parent mapping
        target[path[-1]] = value
    return doc


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.lists(st.tuples(paths, values), min_size=1, max_size=3))
def test_any_value_anywhere_is_a_catalog_or_spec_errors(tmp_path: Path, changes):
    doc = VALID
    for path, value in changes:
        doc = _with(doc, path, value)
    services = tmp_path / "services"
    services.mkdir(exist_ok=True)
    # JSON is YAML: every generated document is a well-formed file.
    (services / "chat.yaml").write_text(json.dumps(doc))
    try:
        catalog = load_catalog(services, FIXTURE_SIZES)
    except SpecErrors as errors:
        assert errors.errors, "SpecErrors without an error"
        assert all(e.file.endswith("chat.yaml") and e.line >= 1 and e.message for e in errors.errors)
    else:
        assert catalog.service("chat").health_check.timeout <= catalog.service("chat").health_check.interval


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=200))
def test_any_text_is_a_catalog_or_spec_errors(tmp_path: Path, text: str):
    services = tmp_path / "services"
    services.mkdir(exist_ok=True)
    (services / "x.yaml").write_text(text, encoding="utf-8")
    try:
        load_catalog(services, FIXTURE_SIZES)
    except SpecErrors as errors:
        assert errors.errors

"""Shared helpers for the toolkit tests (timing, lint, CLI, report)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hubspec.model import Acknowledgement, HealthCheckSpec, ServiceSpec, Source
from tests.catalogs import FIXTURE_SIZES, HUB_CATALOG_SERVICES, REPO

SIZES = FIXTURE_SIZES


def _make_spec(
    *,
    acks: tuple[tuple[str, str, str], ...] = (),  # (rule, reason, accepts)
    lines: dict | None = None,
    file: str = "svc.yaml",
    service: dict | None = None,
    **hc,
) -> ServiceSpec:
    """A ServiceSpec built in code (as a CDK app might), health-check fields overridable."""
    check = dict(interval=15, timeout=10, retries=6, start_period=45)
    check.update(hc)
    return ServiceSpec(
        name="svc",
        image="example/svc:1",
        health_check=HealthCheckSpec(**check),
        sizes=("small",),
        default_size="small",
        acknowledged=tuple(Acknowledgement(*ack) for ack in acks),
        source=Source(file, lines or {}),
        **(service or {}),
    )


@pytest.fixture(autouse=True)
def _run_in_the_fixture_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands given no --services-dir read ./services: here the fixture catalog, never the bundled one."""
    monkeypatch.chdir(HUB_CATALOG_SERVICES.parent)


@pytest.fixture
def make_spec():
    return _make_spec


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def sizes_file() -> Path:
    return SIZES


@pytest.fixture
def services_dir(tmp_path: Path):
    """Write service YAML files into a fresh folder; returns a function(name, text) -> folder."""
    folder = tmp_path / "services"
    folder.mkdir()

    def write(name: str, text: str) -> Path:
        (folder / f"{name}.yaml").write_text(text, encoding="utf-8")
        return folder

    return write

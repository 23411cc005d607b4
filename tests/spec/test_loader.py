"""Loading and validating service files: every bad input gets exact file:line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from hubspec import SpecErrors, load_catalog
from hubspec.loader import SERVICE_SUFFIXES
from tests.catalogs import BUNDLED_SERVICES, BUNDLED_SIZES, FIXTURE_SIZES

EXAMPLES = Path(__file__).parent / "examples"
BAD = sorted(p for p in (EXAMPLES / "bad").iterdir() if p.is_dir())
GOOD = sorted(p for p in (EXAMPLES / "good").iterdir() if p.is_dir())


@pytest.mark.parametrize("case", BAD, ids=[p.name for p in BAD])
def test_bad_example_reports_exact_errors(case: Path, load_case):
    expected = (case / "expected.txt").read_text().splitlines()
    with pytest.raises(SpecErrors) as excinfo:
        load_case(case)
    assert excinfo.value.lines() == expected


@pytest.mark.parametrize("case", GOOD, ids=[p.name for p in GOOD])
def test_good_example_loads(case: Path, load_case):
    catalog = load_case(case)
    names = [
        p for p in (case / "services").iterdir() if p.suffix.lower() in SERVICE_SUFFIXES and not p.name.startswith(".")
    ]
    assert len(catalog.services) == len(names)


def test_errors_are_sorted_and_collected_across_files(load_case):
    """One run reports every file's problems, ordered by file then line."""
    with pytest.raises(SpecErrors) as excinfo:
        load_case(EXAMPLES / "bad" / "endpoint_shell")
    files = [e.file for e in excinfo.value.errors]
    assert files == ["services/a.yaml", "services/b.yaml", "services/c.yaml", "services/d.yaml"]


def test_defaults_apply_to_minimal_service(load_case):
    spec = load_case(EXAMPLES / "good" / "minimal").service("echo")
    hc = spec.health_check
    assert spec.port == 8888
    assert spec.default_size == "small"
    assert (hc.endpoint, hc.use_container_root, hc.prefer_ecs_health, hc.probe) == ("/health", True, False, "curl")
    assert hc.health_check_port is None and hc.custom_health_command is None
    assert spec.probe_port == 8888


def test_boundary_values_pass_through_unchanged(load_case):
    catalog = load_case(EXAMPLES / "good" / "boundaries")
    edge, low = catalog.service("edge_1"), catalog.service("low")
    assert (
        edge.health_check.interval,
        edge.health_check.timeout,
        edge.health_check.retries,
        edge.health_check.start_period,
    ) == (5, 5, 10, 300)
    assert (
        low.health_check.interval,
        low.health_check.timeout,
        low.health_check.retries,
        low.health_check.start_period,
    ) == (300, 2, 1, 0)
    assert (edge.port, edge.probe_port, low.port) == (65535, 1, 1)
    assert edge.default_size == "xlarge"


@pytest.mark.catalog
def test_bundled_catalog_loads_and_every_service_offers_sizes_it_defines():
    catalog = load_catalog(BUNDLED_SERVICES, BUNDLED_SIZES)
    names = sorted(p.stem for p in BUNDLED_SERVICES.iterdir() if p.suffix in (".yaml", ".yml"))
    assert [s.name for s in catalog.services] == names  # one service per file, named like it
    for spec in catalog.services:
        assert spec.sizes and set(spec.sizes) <= set(catalog.sizes) and spec.default_size in spec.sizes
        assert spec.health_check.timeout < spec.health_check.interval  # what aws-cdk-lib accepts


@pytest.mark.catalog
def test_every_bundled_yaml_names_its_schema_for_editors():
    for path in sorted(BUNDLED_SERVICES.glob("*.y*ml")) + [BUNDLED_SIZES]:
        first = path.read_text().splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema="), path
        schema_path = (path.parent / first.split("$schema=", 1)[1]).resolve()
        assert schema_path.is_file(), f"{path}: schema {schema_path} does not exist"


def test_unreadable_services_dir_is_an_error_not_a_traceback(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SpecErrors) as excinfo:
        load_catalog(Path("missing"), Path("missing.yaml"))
    assert excinfo.value.lines() == [
        "missing:1: $: services directory does not exist",
        "missing.yaml:1: $: cannot read file: No such file or directory",
    ]


def test_non_utf8_file_is_reported(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "services").mkdir()
    (tmp_path / "services" / "x.yaml").write_bytes(b"name: \xff\xfe\n")
    (tmp_path / "sizes.yaml").write_text(FIXTURE_SIZES.read_text())
    with pytest.raises(SpecErrors) as excinfo:
        load_catalog(Path("services"), Path("sizes.yaml"))
    assert excinfo.value.lines() == ["services/x.yaml:1: $: file is not UTF-8 text"]


def test_sidecars_example_builds_every_container(load_case):
    """The main container comes first and is essential; sidecars keep file order, checks, variables and deps."""
    spec = load_case(EXAMPLES / "good" / "sidecars").service("chat")
    assert [c.name for c in spec.containers] == ["chat", "data-agent", "init"]
    main, agent, init = spec.containers
    assert main.essential and main.health_check == spec.health_check and main.probe_port == 3000
    assert main.depends_on == {"data-agent": "HEALTHY", "init": "SUCCESS"}
    assert main.secrets["DB_PASSWORD"].endswith(":password::")
    assert agent.essential and agent.probe_port == 5000 and agent.health_check.probe == "python"
    assert agent.environment == {"AGENT_MODE": "server"} and agent.depends_on == {"init": "SUCCESS"}
    assert not init.essential and init.health_check is None and init.probe_port is None
    assert (spec.cpu_architecture, spec.ephemeral_storage_gib, spec.stop_timeout, spec.exec_enabled) == (
        "ARM64",
        50,
        30,
        True,
    )


def test_new_keys_default_to_a_single_plain_container(load_case):
    spec = load_case(EXAMPLES / "good" / "minimal").service("echo")
    assert spec.containers == (spec.main_container,) and spec.sidecars == ()
    assert (spec.environment, spec.secrets, spec.depends_on) == ({}, {}, {})
    assert (spec.cpu_architecture, spec.ephemeral_storage_gib, spec.stop_timeout, spec.exec_enabled) == (
        None,
        None,
        None,
        False,
    )

"""Health-check rendering: port choice, probe target, curl -f, timing passed through."""

from __future__ import annotations

import dataclasses

import pytest

from hubspec import load_catalog, render_health_check
from hubspec.model import HealthCheckSpec, ServiceSpec
from tests.catalogs import HUB_CATALOG_SERVICES, HUB_CATALOG_SIZES


def make_spec(port: int = 8888, **hc) -> ServiceSpec:
    timing = {"interval": 15, "timeout": 10, "retries": 8, "start_period": 45}
    return ServiceSpec(
        name="svc",
        image="example/svc:1",
        port=port,
        sizes=("small",),
        default_size="small",
        health_check=HealthCheckSpec(**{**timing, **hc}),
    )


@pytest.fixture(scope="module")
def bundled():
    """The fixture copy of the first bundled catalog (the live one may be tuned at any time)."""
    catalog = load_catalog(HUB_CATALOG_SERVICES, HUB_CATALOG_SIZES)
    return {s.name: render_health_check(s) for s in catalog.services}


def test_chat_probes_ui_server_on_3000(bundled):
    assert bundled["chat"].command == (
        "CMD-SHELL",
        "curl -fsS -o /dev/null --max-time 9 http://127.0.0.1:3000/health || exit 1",
    )
    assert bundled["chat"].port == 3000


def test_waiide_uses_its_custom_command_on_8071(bundled):
    assert bundled["waiide"].command == (
        "CMD-SHELL",
        "curl -fsS -o /dev/null --max-time 9 http://127.0.0.1:8071/health || exit 1",
    )


def test_lab_probes_under_the_server_prefix(bundled):
    assert bundled["lab"].command == (
        "CMD-SHELL",
        'curl -fsS -o /dev/null --max-time 19 "http://127.0.0.1:8888${JUPYTERHUB_SERVICE_PREFIX%/}/health" || exit 1',
    )


def test_timing_passes_through_unchanged(bundled):
    assert bundled["lab"].to_ecs() | {"command": None} == {
        "command": None,
        "interval": 30,
        "timeout": 20,
        "retries": 8,
        "startPeriod": 60,
    }
    assert (
        bundled["chat"].interval,
        bundled["chat"].timeout,
        bundled["chat"].retries,
        bundled["chat"].start_period,
    ) == (15, 10, 8, 45)


@pytest.mark.parametrize(("port", "hc_port", "expected"), [(8070, 8071, 8071), (8070, None, 8070), (8888, None, 8888)])
def test_port_selection(port, hc_port, expected):
    spec = make_spec(port=port, health_check_port=hc_port)
    rendered = render_health_check(spec)
    assert rendered.port == expected
    assert f"http://127.0.0.1:{expected}/health" in rendered.command[1]


def test_default_port_is_8888_when_the_service_names_none():
    assert ServiceSpec.__dataclass_fields__["port"].default == 8888
    assert render_health_check(make_spec()).port == 8888


@pytest.mark.parametrize("probe", ["curl", "wget"])
def test_every_rendered_http_shell_probe_fails_on_http_errors(probe):
    command = render_health_check(make_spec(probe=probe)).command
    assert command[0] == "CMD-SHELL"
    if probe == "curl":
        assert command[1].startswith("curl -fsS ")  # without -f curl exits 0 on 404/500
    else:
        assert command[1].startswith("wget -q -O /dev/null -T 9 -t 1 ")  # wget exits 8 on 4xx/5xx


def test_probe_caps_its_run_time_below_the_ecs_timeout():
    assert "--max-time 1 " in render_health_check(make_spec(timeout=2, interval=5)).command[1]
    assert "--max-time 59 " in render_health_check(make_spec(timeout=60, interval=60)).command[1]


def test_python_probe_is_exec_form_without_a_shell():
    root = render_health_check(make_spec(probe="python", health_check_port=3000)).command
    assert root == (
        "CMD",
        "python3",
        "-c",
        "import urllib.request; urllib.request.urlopen('http://127.0.0.1:3000/health', timeout=9)",
    )
    prefixed = render_health_check(make_spec(probe="python", use_container_root=False)).command
    assert prefixed[:3] == ("CMD", "python3", "-c")
    assert "os.environ.get('JUPYTERHUB_SERVICE_PREFIX', '/').rstrip('/') + '/health'" in prefixed[3]


def test_tcp_probe_connects_to_the_probe_port():
    assert render_health_check(make_spec(probe="tcp", health_check_port=3000)).command == (
        "CMD",
        "python3",
        "-c",
        "import socket; socket.create_connection(('127.0.0.1', 3000), timeout=9).close()",
    )


def test_custom_command_is_used_verbatim():
    line = "curl -fsS http://127.0.0.1:8071/health || exit 1"
    rendered = render_health_check(make_spec(custom_health_command=line))
    assert rendered.command == ("CMD-SHELL", line)
    assert rendered.url is None


def test_specs_are_frozen():
    spec = make_spec()
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.port = 1  # type: ignore[misc]

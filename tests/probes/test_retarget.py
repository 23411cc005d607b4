"""Pointing a service's own probe at --base-url changes the address and nothing else."""

from __future__ import annotations

import pytest

from hubspec import render_health_check
from hubspec.health.liveprobe import ProbeUsageError, Target, retarget
from hubspec.model import HealthCheckSpec, ServiceSpec

KINDS = ("curl", "wget", "python", "tcp")


def _spec(kind: str, *, root: bool, port: int = 8888, custom: str | None = None) -> ServiceSpec:
    hc = HealthCheckSpec(
        interval=15,
        timeout=10,
        retries=3,
        start_period=45,
        use_container_root=root,
        probe=kind,
        custom_health_command=custom,
    )
    return ServiceSpec(name="web", image="x/y:1", health_check=hc, sizes=("small",), default_size="small", port=port)


@pytest.mark.parametrize("root", [True, False], ids=["root", "prefix"])
@pytest.mark.parametrize("kind", KINDS)
def test_retargeting_to_another_loopback_port_equals_rendering_with_that_port(kind, root):
    """The probe logic (flags, timeouts, prefix handling) is untouched: only the port differs."""
    original = render_health_check(_spec(kind, root=root)).command
    expected = render_health_check(_spec(kind, root=root, port=41234)).command
    assert retarget(original, from_port=8888, target=Target("127.0.0.1", 41234)) == expected


@pytest.mark.parametrize(("host", "url_host"), [("localhost", "localhost"), ("10.0.3.7", "10.0.3.7"), ("::1", "[::1]")])
def test_other_hosts(host, url_host):
    curl = render_health_check(_spec("curl", root=True)).command
    tcp = render_health_check(_spec("tcp", root=True)).command
    target = Target(host, 9000)
    assert retarget(curl, from_port=8888, target=target)[1] == (
        f"curl -fsS -o /dev/null --max-time 9 http://{url_host}:9000/health || exit 1"
    )
    assert f"socket.create_connection(({host!r}, 9000), timeout=9)" in retarget(tcp, from_port=8888, target=target)[3]


def test_only_the_probe_port_is_replaced():
    """127.0.0.1:88880 and a second service on another port stay as they are."""
    command = (
        "CMD-SHELL",
        "curl -f http://127.0.0.1:8888/a && curl -f http://127.0.0.1:88880/b "
        "&& curl -f http://localhost:8888/c && curl -f http://127.0.0.1:5000/d",
    )
    out = retarget(command, from_port=8888, target=Target("127.0.0.1", 7))
    assert out[1] == (
        "curl -f http://127.0.0.1:7/a && curl -f http://127.0.0.1:88880/b "
        "&& curl -f http://127.0.0.1:7/c && curl -f http://127.0.0.1:5000/d"
    )


def test_a_command_without_the_probe_address_cannot_be_retargeted():
    command = render_health_check(_spec("curl", root=True, custom="test -f /tmp/ready")).command
    with pytest.raises(ProbeUsageError, match=r"does not name 127\.0\.0\.1:8888"):
        retarget(command, from_port=8888, target=Target("127.0.0.1", 7))


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("http://127.0.0.1:8080", Target("127.0.0.1", 8080)),
        ("http://localhost:8080/", Target("localhost", 8080)),
        ("http://[::1]:8080", Target("::1", 8080)),
        ("http://example.org", Target("example.org", 80)),
    ],
)
def test_base_url(url, target):
    assert Target.from_url(url) == target

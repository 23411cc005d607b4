"""Turn a service's health-check spec into the ECS container health check.

The notes' `_build_ecs_health_check` rendered `curl URL || exit 1`, which
passes on HTTP 404/500. Every rendered HTTP probe here fails on status >= 400,
caps its own run time below the ECS timeout, and needs only the tool it names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from hubspec.model import ContainerSpec, HealthCheckSpec, probe_max_time

__all__ = [
    "LOOPBACK",
    "PREFIX_VAR",
    "Probed",
    "RenderedHealthCheck",
    "probe_max_time",
    "probe_url",
    "render_container_check",
    "render_health_check",
]

LOOPBACK = "127.0.0.1"
PREFIX_VAR = "JUPYTERHUB_SERVICE_PREFIX"


@dataclass(frozen=True)
class RenderedHealthCheck:
    """The ECS `healthCheck` of one container, in the ECS API's field names via `to_ecs()`."""

    command: tuple[str, ...]
    interval: int
    timeout: int
    retries: int
    start_period: int
    port: int
    url: str | None
    give_up: float  # when the probe itself stops waiting (see HealthCheckSpec.give_up)

    def to_ecs(self) -> dict[str, object]:
        return {
            "command": list(self.command),
            "interval": self.interval,
            "timeout": self.timeout,
            "retries": self.retries,
            "startPeriod": self.start_period,
        }


class Probed(Protocol):
    """What rendering needs: a health check and the port it probes (a ServiceSpec, or a checked container)."""

    @property
    def health_check(self) -> HealthCheckSpec: ...

    @property
    def probe_port(self) -> int: ...


@dataclass(frozen=True)
class _CheckedContainer:
    health_check: HealthCheckSpec
    probe_port: int


def probe_url(spec: Probed, *, shell: bool) -> str:
    """Loopback URL of the probe; under the per-server prefix unless use_container_root.

    JupyterHub sets JUPYTERHUB_SERVICE_PREFIX to `/user/<name>/` or
    `/user/<name>/<server>/`; the trailing slash is dropped before the endpoint.
    In a shell line that is `${VAR%/}`; in exec form the Python probe expands it.
    """
    hc = spec.health_check
    base = f"http://{LOOPBACK}:{spec.probe_port}"
    if hc.use_container_root:
        return base + hc.endpoint
    if shell:
        return f"{base}${{{PREFIX_VAR}%/}}{hc.endpoint}"
    return base + "{prefix}" + hc.endpoint


def _shell_url(url: str) -> str:
    return f'"{url}"' if "$" in url else url


def _python_http(spec: Probed, max_time: int) -> str:
    hc = spec.health_check
    base = f"http://{LOOPBACK}:{spec.probe_port}"
    if hc.use_container_root:
        url_expr = repr(base + hc.endpoint)
        head = "import urllib.request; "
    else:
        url_expr = f"{base!r} + os.environ.get({PREFIX_VAR!r}, '/').rstrip('/') + {hc.endpoint!r}"
        head = "import os, urllib.request; "
    # urlopen raises (exit 1) on status >= 400, refusal and timeout.
    return head + f"urllib.request.urlopen({url_expr}, timeout={max_time})"


def render_health_check(spec: Probed) -> RenderedHealthCheck:
    hc = spec.health_check
    max_time = probe_max_time(hc.timeout)
    shell_url = probe_url(spec, shell=True)
    url: str | None = shell_url
    if hc.custom_health_command:
        command: tuple[str, ...] = ("CMD-SHELL", hc.custom_health_command)
        url = None
    elif hc.probe == "curl":
        command = ("CMD-SHELL", f"curl -fsS -o /dev/null --max-time {max_time} {_shell_url(shell_url)} || exit 1")
    elif hc.probe == "wget":
        command = ("CMD-SHELL", f"wget -q -O /dev/null -T {max_time} -t 1 {_shell_url(shell_url)} || exit 1")
    elif hc.probe == "python":
        command = ("CMD", "python3", "-c", _python_http(spec, max_time))
        url = probe_url(spec, shell=False)
    elif hc.probe == "tcp":
        connect = (
            f"import socket; socket.create_connection(({LOOPBACK!r}, {spec.probe_port}), timeout={max_time}).close()"
        )
        command = ("CMD", "python3", "-c", connect)
        url = None
    else:  # the schema's enum makes this unreachable for loaded specs
        raise ValueError(f"unknown probe kind {hc.probe!r}")
    return RenderedHealthCheck(
        command=command,
        interval=hc.interval,
        timeout=hc.timeout,
        retries=hc.retries,
        start_period=hc.start_period,
        port=spec.probe_port,
        url=url,
        give_up=hc.give_up,
    )


def render_container_check(container: ContainerSpec) -> RenderedHealthCheck | None:
    """Any container's health check (main or sidecar) through the same rendering as the service's; None
    without one. A sidecar's check with only a custom command has no port; 0 stands for "none"."""
    if container.health_check is None:
        return None
    return render_health_check(_CheckedContainer(container.health_check, container.probe_port or 0))

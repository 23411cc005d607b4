"""Validated specs as frozen dataclasses: built by the loader after validation, or in code (a health
check built in code is held to the same ECS limits: see HealthCheckSpec.__post_init__)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from hubspec.schema import timing_problems

DEFAULT_PORT = 8888
DEFAULT_ENDPOINT = "/health"


@dataclass(frozen=True)
class Acknowledgement:
    """A lint warning a service accepts on purpose, tied to the numbers it accepts.

    `accepts` is the finding's measured value when the service accepted it ("222-240 s");
    when the value changes, the acknowledgement is stale (HC102) and the warning is open again.
    """

    rule: str
    reason: str
    accepts: str = ""


def probe_max_time(timeout: int) -> int:
    """A rendered probe gives up one second before ECS would kill it, so it fails with its own message."""
    return max(1, timeout - 1)


@dataclass(frozen=True)
class HealthCheckSpec:
    interval: int
    timeout: int
    retries: int
    start_period: int
    endpoint: str = DEFAULT_ENDPOINT
    health_check_port: int | None = None
    use_container_root: bool = True
    prefer_ecs_health: bool = False
    probe: str = "curl"
    custom_health_command: str | None = None

    def __post_init__(self) -> None:
        """A spec built in code meets the same ECS and aws-cdk-lib limits the loader enforces on YAML."""
        problems = timing_problems(self.interval, self.timeout, self.retries, self.start_period)
        if self.custom_health_command is not None:
            from hubspec.shellcmd import command_problems  # parses the line: only when there is one

            problems += [("custom_health_command", p) for p in command_problems(self.custom_health_command)]
        if problems:
            raise ValueError("; ".join(f"health_check.{field}: {message}" for field, message in problems))

    @cached_property
    def give_up(self) -> float:
        """Seconds after which the probe itself stops waiting and fails (a hang or a slow answer).

        A rendered probe gives up at `probe_max_time(timeout)` (curl `--max-time`, wget `-T`,
        urllib's timeout). A custom command that is one curl transfer with a `--max-time` below
        the timeout gives up then; any other custom command runs until ECS kills it at the timeout.
        """
        if self.custom_health_command is None:
            return float(probe_max_time(self.timeout))
        from hubspec.shellcmd import curl_calls

        calls = curl_calls(self.custom_health_command) or []
        if len(calls) == 1 and calls[0].max_time is not None and 0 < calls[0].max_time < self.timeout:
            return float(calls[0].max_time)
        return float(self.timeout)

    @property
    def give_up_text(self) -> str:
        """Where the give-up time comes from, for messages."""
        if self.custom_health_command is None:
            return (
                f"the rendered probe gives up after {self.give_up:g} s, one second before the {self.timeout} s timeout"
            )
        if self.give_up < self.timeout:
            return f"the custom command's curl --max-time {self.give_up:g} gives up before the {self.timeout} s timeout"
        return f"the custom command runs until ECS kills it at the {self.timeout} s timeout"


# The task definition volume that holds a service's EFS home: the CDK app names it, the spawner finds it.
HOME_VOLUME = "home"
DEFAULT_EFS_UID = 1000  # jovyan in the Jupyter images
DEFAULT_EFS_GID = 100  # users


@dataclass(frozen=True)
class EfsSpec:
    """A persistent home on EFS at `mount_path`; `per_user`: one access point (and directory) per user."""

    mount_path: str
    per_user: bool
    uid: int = DEFAULT_EFS_UID
    gid: int = DEFAULT_EFS_GID


@dataclass(frozen=True)
class SizeSpec:
    name: str
    cpu: int
    memory: int


@dataclass(frozen=True)
class Source:
    """Where a spec came from, so later checks (lint) can name file and line."""

    file: str
    lines: dict[tuple[str | int, ...], int] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def line_of(self, *path: str | int) -> int:
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)


DEPENDENCY_CONDITIONS = ("START", "COMPLETE", "SUCCESS", "HEALTHY")


@dataclass(frozen=True)
class ContainerSpec:
    """One container of a service's task: the main container (named after the service) or a sidecar.

    `environment` and `secrets` map variable names to values / ARNs; `depends_on` maps the name of
    another container of the same task to START, COMPLETE, SUCCESS or HEALTHY.
    """

    name: str
    image: str
    port: int | None = None
    essential: bool = False
    health_check: HealthCheckSpec | None = None
    environment: dict[str, str] = field(default_factory=dict, hash=False)
    secrets: dict[str, str] = field(default_factory=dict, hash=False)
    depends_on: dict[str, str] = field(default_factory=dict, hash=False)

    @property
    def probe_port(self) -> int | None:
        """health_check_port if set, else the container's port (None: a sidecar without either)."""
        if self.health_check is not None and self.health_check.health_check_port:
            return self.health_check.health_check_port
        return self.port


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    image: str
    health_check: HealthCheckSpec
    sizes: tuple[str, ...]
    default_size: str
    port: int = DEFAULT_PORT
    description: str = ""
    efs: EfsSpec | None = None
    startup_typical: float | None = None
    startup_p95: float | None = None
    acknowledged: tuple[Acknowledgement, ...] = ()
    source: Source = field(default_factory=lambda: Source("<memory>"), compare=False)
    # The main container's environment, secrets and dependencies, the sidecars, and task-wide settings.
    environment: dict[str, str] = field(default_factory=dict, hash=False)
    secrets: dict[str, str] = field(default_factory=dict, hash=False)
    depends_on: dict[str, str] = field(default_factory=dict, hash=False)
    sidecars: tuple[ContainerSpec, ...] = ()
    cpu_architecture: str | None = None  # None: nothing rendered (Fargate runs X86_64)
    ephemeral_storage_gib: int | None = None
    stop_timeout: int | None = None
    exec_enabled: bool = False

    @property
    def efs_backed(self) -> bool:
        """The home directory is on EFS (slow first reads): derived from `efs`, the one place that says so."""
        return self.efs is not None

    @property
    def probe_port(self) -> int:
        """health_check_port if set, else the service port (which defaults to 8888)."""
        return self.health_check.health_check_port or self.port

    @property
    def main_container(self) -> ContainerSpec:
        """The server's own container: named after the service, always essential, always checked."""
        return ContainerSpec(
            name=self.name,
            image=self.image,
            port=self.port,
            essential=True,
            health_check=self.health_check,
            environment=self.environment,
            secrets=self.secrets,
            depends_on=self.depends_on,
        )

    @property
    def containers(self) -> tuple[ContainerSpec, ...]:
        """The main container, then the sidecars in file order."""
        return (self.main_container, *self.sidecars)

    def container(self, name: str) -> ContainerSpec:
        for container in self.containers:
            if container.name == name:
                return container
        raise KeyError(f"service {self.name!r} has no container {name!r}")


@dataclass(frozen=True)
class Catalog:
    """All services and sizes of one hub, in a stable order (by service name)."""

    services: tuple[ServiceSpec, ...]
    sizes: dict[str, SizeSpec] = field(hash=False)
    # Entries of the services folder that are not service files (`file:line: $: warning: ...`), ignored.
    warnings: tuple[str, ...] = ()

    def service(self, name: str) -> ServiceSpec:
        for spec in self.services:
            if spec.name == name:
                return spec
        known = ", ".join(s.name for s in self.services)
        raise KeyError(f"unknown service {name!r}; known: {known}")

"""Run a service's own health check against a running server, on the engine's schedule.

This replaces the design notes' hand-written bash loop, which slept through
start_period before the first probe: the engine probes *during* start_period
and a success there counts at once. The schedule and the counting rules come
from `hubspec.health.healthstate` (the same code the timing model uses); only the
probe results are real. The rendered command runs as a subprocess the way the
engine runs it: `CMD-SHELL` through `/bin/sh -c`, `CMD` as an exec without a
shell, with the container's environment only, killed at the health-check
timeout (which then counts as a failure).
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

from hubspec.errors import SpecErrors
from hubspec.health.healthstate import (
    CLASSIC,
    HEALTHY,
    PROFILE_HELP,
    PROFILES,
    STARTING,
    UNHEALTHY,
    HealthState,
    next_probe_start,
)
from hubspec.loader import SERVICES_DIRNAME, SIZES_FILENAME, load_catalog
from hubspec.model import ServiceSpec
from hubspec.render import LOOPBACK, PREFIX_VAR, RenderedHealthCheck, render_health_check

SHELL = "/bin/sh"  # what the engine runs a CMD-SHELL line with on Linux
NOT_FOUND = 127  # exit status reported when an exec-form probe's program is missing


class ProbeUsageError(ValueError):
    """The probe cannot be run as asked (bad URL, command that cannot be retargeted, ...)."""


@dataclass(frozen=True)
class ProbeRun:
    """One execution of a health-check command."""

    exit_code: int | None  # None: still running at the timeout, so it was killed
    duration: float  # seconds
    output: str = ""  # the last line the probe printed (stderr first), for the log

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    @property
    def timed_out(self) -> bool:
        return self.exit_code is None

    def describe(self) -> str:
        if self.exit_code is None:
            return "killed"
        if self.exit_code < 0:
            return f"signal {-self.exit_code}"
        return str(self.exit_code)


def argv_of(command: Sequence[str]) -> list[str]:
    """The process the engine starts for an ECS health-check command."""
    if not command:
        raise ProbeUsageError("empty health-check command")
    kind, *rest = command
    if kind == "CMD-SHELL" and len(rest) == 1:
        return [SHELL, "-c", rest[0]]
    if kind == "CMD" and rest:
        return list(rest)
    raise ProbeUsageError(
        f"cannot run health-check command {list(command)!r}: expected ['CMD-SHELL', line] or ['CMD', program, args...]"
    )


def run_health_command(command: Sequence[str], *, env: Mapping[str, str], timeout: float) -> ProbeRun:
    """Run the command once with exactly `env`; kill its whole process group at `timeout`.

    The group kill matters for CMD-SHELL: killing only /bin/sh would leave
    curl running and holding the output pipes.
    """
    argv = argv_of(command)
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            argv,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            text=True,
            errors="replace",
        )
    except OSError as exc:  # exec form: the program is not in the image (on PATH)
        return ProbeRun(NOT_FOUND, time.monotonic() - started, f"{argv[0]}: {exc.strerror or exc}")
    try:
        out, err = proc.communicate(timeout=timeout)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        out, err = proc.communicate()
        code = None
    except BaseException:  # Ctrl-C: leave no probe behind
        _kill_group(proc)
        proc.communicate()
        raise
    duration = time.monotonic() - started
    return ProbeRun(code, duration, _last_line(err) or _last_line(out))


def _kill_group(proc: subprocess.Popen[str]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _last_line(text: str, limit: int = 120) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1][:limit] if lines else ""


@dataclass(frozen=True)
class Target:
    """Where the probe should connect instead of the container's loopback port."""

    host: str
    port: int

    @classmethod
    def from_url(cls, url: str) -> Target:
        """`http://host:port` (path `/` at most): the prefix comes from --prefix, not the URL."""
        parts = urlsplit(url)
        if parts.scheme != "http":
            raise ProbeUsageError(
                f"--base-url {url!r}: expected http://HOST:PORT (the rendered probes "
                "speak plain HTTP, as they do inside the container)"
            )
        try:
            port = parts.port or 80
        except ValueError as exc:
            raise ProbeUsageError(f"--base-url {url!r}: {exc}") from None
        if not parts.hostname:
            raise ProbeUsageError(f"--base-url {url!r}: no host")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ProbeUsageError(
                f"--base-url {url!r}: give only scheme, host and port; the probe adds its "
                "own path (use --prefix for JUPYTERHUB_SERVICE_PREFIX)"
            )
        return cls(parts.hostname, port)

    @property
    def url_host(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host


def retarget(command: Sequence[str], *, from_port: int, target: Target) -> tuple[str, ...]:
    """Point a probe at target instead of 127.0.0.1:from_port; nothing else in it changes.

    A rendered or custom probe names its address as `127.0.0.1:<port>` (or
    `localhost:<port>`) in a URL, or `('127.0.0.1', <port>)` in the tcp kind.
    Only those spans are replaced, so flags, paths and the prefix logic stay
    exactly as ECS would run them.
    """
    url = re.compile(rf"(?<![\w.])(?:{re.escape(LOOPBACK)}|localhost):{from_port}(?!\d)")
    connect = re.compile(rf"\((['\"])(?:{re.escape(LOOPBACK)}|localhost)\1, {from_port}\)")
    out: list[str] = []
    found = False
    for part in command:
        new, n_url = url.subn(f"{target.url_host}:{target.port}", part)
        new, n_connect = connect.subn(f"({target.host!r}, {target.port})", new)
        found = found or bool(n_url or n_connect)
        out.append(new)
    if not found:
        raise ProbeUsageError(
            f"the health-check command does not name {LOOPBACK}:{from_port}, so it cannot "
            f"be pointed at {target.url_host}:{target.port}: {display_command(command)}"
        )
    return tuple(out)


def display_command(command: Sequence[str]) -> str:
    if command and command[0] == "CMD-SHELL":
        return "CMD-SHELL " + " ".join(command[1:])
    return "CMD " + shlex.join(command[1:])


def probe_env(prefix: str | None, path: str | None = None) -> dict[str, str]:
    """The container's environment as far as a probe sees it: PATH and the server prefix.

    Nothing else leaks in from the operator's shell (no http_proxy, no HOME
    with a ~/.curlrc), so the probe behaves as it would in the task.
    """
    env = {"PATH": path if path is not None else os.environ.get("PATH", os.defpath)}
    if prefix is not None:
        env[PREFIX_VAR] = prefix
    return env


@dataclass(frozen=True)
class ProbeRecord:
    """One probe on the engine's clock (seconds since the container started)."""

    number: int
    start: float
    end: float
    run: ProbeRun
    counted: bool  # a failure that counts towards `retries` (False for successes)
    status: str  # health status after this probe


@dataclass(frozen=True)
class Bounds:
    """When to stop besides UNHEALTHY: N probes after the first HEALTHY, or a probe/time budget."""

    after_healthy: int = 2
    max_probes: int | None = None
    duration: float | None = None  # engine seconds: no probe starts after this


@dataclass(frozen=True)
class WatchResult:
    records: tuple[ProbeRecord, ...]
    status: str
    changes: tuple[tuple[float, str], ...]  # (engine time, new status)
    stopped_by: str  # "unhealthy", "after-healthy", "max-probes", "duration"

    @property
    def healthy_at(self) -> float | None:
        return next((t for t, s in self.changes if s == HEALTHY), None)


def watch(
    check: RenderedHealthCheck,
    *,
    env: Mapping[str, str],
    profile: str = CLASSIC,
    speed: float = 1.0,
    bounds: Bounds = Bounds(),
    on_probe: Callable[[ProbeRecord], None] | None = None,
) -> WatchResult:
    """Probe on the engine's schedule until UNHEALTHY or a bound; waits are divided by `speed`.

    Engine time advances by the scheduled waits and by each probe's real
    duration (never scaled: a slow or hanging server is what is being
    measured, and the probe is killed at the real timeout).
    """
    if speed <= 0:
        raise ProbeUsageError("--speed must be greater than 0")
    state = HealthState(retries=check.retries, start_period=check.start_period)
    records: list[ProbeRecord] = []
    prev_end: float | None = None
    first_healthy: int | None = None
    real_at_prev_end = time.monotonic()
    stopped_by = ""
    while not stopped_by:
        start = next_probe_start(
            profile, prev_end=prev_end, status=state.status, interval=check.interval, start_period=check.start_period
        )
        if bounds.max_probes is not None and len(records) >= bounds.max_probes:
            stopped_by = "max-probes"
            break
        if bounds.duration is not None and start > bounds.duration:
            stopped_by = "duration"
            break
        wake = real_at_prev_end + (start - (prev_end or 0.0)) / speed
        time.sleep(max(0.0, wake - time.monotonic()))
        run = run_health_command(check.command, env=env, timeout=check.timeout)
        real_at_prev_end = time.monotonic()
        end = start + run.duration
        counted = state.record(start, end, run.ok)
        record = ProbeRecord(len(records) + 1, start, end, run, counted, state.status)
        records.append(record)
        if on_probe:
            on_probe(record)
        prev_end = end
        if first_healthy is None and state.status == HEALTHY:
            first_healthy = record.number
        if state.status == UNHEALTHY:
            stopped_by = "unhealthy"
        elif first_healthy is not None and record.number - first_healthy >= bounds.after_healthy:
            stopped_by = "after-healthy"
    return WatchResult(tuple(records), state.status, tuple(state.changes), stopped_by)


# --- command line -------------------------------------------------------------------------------

EPILOG = """\
how it runs:
  t = 0 is when this command starts: start the container (or server) and this command together
  to watch a real start-up. Probes follow the chosen engine profile (hubspec.health.healthstate), the
  same rules as `timeline`: a success during start_period makes the container healthy at once, a
  failure that started inside start_period (before the first success) is shown as not counted,
  `retries` consecutive counted failures make it unhealthy. The command is the service's own
  rendered health check with 127.0.0.1:<probe port> replaced by --base-url's host:port; it runs
  with only PATH and JUPYTERHUB_SERVICE_PREFIX (from --prefix) set, CMD-SHELL via /bin/sh -c,
  CMD without a shell, killed at the health-check timeout (a kill counts as a failure).
  --speed divides the waits between probes; the probes themselves run in real time with the
  real timeout, and t adds their real durations, so at high speeds t runs slower than wall-clock
  time x speed. It stops at UNHEALTHY, or --after-healthy probes after the first HEALTHY, or at
  --max-probes / --duration.

exit status: 0 final state healthy; 1 unhealthy, or still starting when a bound stopped it;
  2 usage or input error (unknown service, bad URL, invalid service files).
"""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Register `probe` on the CLI's subparsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "probe",
        help="run a service's own health check against a running server, on the engine's schedule",
        description="Run SERVICE's rendered health-check command against a running server with the real "
        "health state machine timing, print every probe and the final state.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("service", help="service name (services/<name>.yaml)")
    parser.add_argument(
        "--base-url",
        required=True,
        metavar="URL",
        help="where the server listens, http://HOST:PORT; replaces 127.0.0.1:<probe port>",
    )
    parser.add_argument(
        "--prefix",
        metavar="PREFIX",
        help="JUPYTERHUB_SERVICE_PREFIX for the probe, e.g. /user/alice/ or /user/alice/named/ "
        "(required when the service probes under the prefix)",
    )
    parser.add_argument(
        "--profile",
        choices=PROFILES,
        default=CLASSIC,
        help="engine probe schedule (default: %(default)s). "
        + "; ".join(f"{p}: {h}" for p, h in PROFILE_HELP.items())
        + ". Fargate's schedule is undocumented: try both",
    )
    parser.add_argument(
        "--speed",
        type=_positive_float,
        default=1.0,
        metavar="X",
        help="divide the waits between probes by X (default 1: real time)",
    )
    parser.add_argument(
        "--after-healthy",
        type=_non_negative_int,
        default=2,
        metavar="N",
        help="probes to run after the first HEALTHY before stopping (default: %(default)s)",
    )
    parser.add_argument("--max-probes", type=_positive_int, metavar="N", help="stop after N probes")
    parser.add_argument(
        "--duration",
        type=_positive_float,
        metavar="SECONDS",
        help="start no probe after this engine time (seconds since start)",
    )
    add_catalog_options(parser)
    parser.set_defaults(func=probe_command)
    return parser


def add_catalog_options(parser: argparse.ArgumentParser) -> None:
    """--services-dir/--sizes-file, left unset unless given so a top-level option of the same name wins."""
    parser.add_argument(
        "--services-dir",
        type=Path,
        default=argparse.SUPPRESS,
        metavar="DIR",
        help=f"service files (default: ./{SERVICES_DIRNAME})",
    )
    parser.add_argument(
        "--sizes-file",
        type=Path,
        default=argparse.SUPPRESS,
        metavar="FILE",
        help=f"sizes file (default: ./{SIZES_FILENAME})",
    )


def catalog_paths(args: argparse.Namespace) -> tuple[Path, Path]:
    """The services folder and sizes file the options name, or ./services and ./sizes.yaml."""
    return (
        Path(getattr(args, "services_dir", SERVICES_DIRNAME)),
        Path(getattr(args, "sizes_file", SIZES_FILENAME)),
    )


def load_service(args: argparse.Namespace) -> ServiceSpec:
    """The named service from the catalog the options point at (SpecErrors/KeyError on failure)."""
    return load_catalog(*catalog_paths(args)).service(args.service)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number greater than 0")
    return value


def _positive_int(text: str) -> int:
    value = _non_negative_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected an integer of at least 1")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected an integer of at least 0")
    return value


def prepare(spec: ServiceSpec, *, base_url: str, prefix: str | None) -> tuple[RenderedHealthCheck, dict[str, str]]:
    """The service's rendered check pointed at base_url, and the env to run it with."""
    target = Target.from_url(base_url)
    check = render_health_check(spec)
    uses_prefix = not spec.health_check.use_container_root and not spec.health_check.custom_health_command
    if prefix is not None and not (prefix.startswith("/") and prefix.endswith("/")):
        raise ProbeUsageError(f"--prefix {prefix!r}: JupyterHub prefixes start and end with '/', e.g. /user/alice/")
    if uses_prefix and prefix is None:
        raise ProbeUsageError(
            f"{spec.name} probes under {PREFIX_VAR} (use_container_root: false); "
            "pass --prefix, e.g. --prefix /user/alice/"
        )
    command = retarget(check.command, from_port=spec.probe_port, target=target)
    return replace(check, command=command), probe_env(prefix)


def _probe_printer(retries: int) -> Callable[[ProbeRecord], None]:
    streak = 0

    def show(record: ProbeRecord) -> None:
        nonlocal streak
        if record.run.ok:
            streak, counted = 0, "-"
        elif record.counted:
            streak += 1
            counted = f"yes ({streak}/{retries})"
        else:
            counted = "no (start period)"
        note = f"  {record.run.output}" if record.run.output and not record.run.ok else ""
        print(
            f"{record.number:>4} {record.start:>8.1f}s {record.end - record.start:>6.2f}s "
            f"{record.run.describe():>6}  {counted:<18} {record.status}{note}",
            flush=True,
        )

    return show


def probe_command(args: argparse.Namespace) -> int:
    """`probe`: 0 healthy at the end, 1 unhealthy or still starting, 2 usage/input error."""
    try:
        spec = load_service(args)
        check, env = prepare(spec, base_url=args.base_url, prefix=args.prefix)
    except SpecErrors as exc:
        print("\n".join(exc.lines()), file=sys.stderr)
        return 2
    except (KeyError, ProbeUsageError) as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 2
    bounds = Bounds(after_healthy=args.after_healthy, max_probes=args.max_probes, duration=args.duration)
    print(f"probe {spec.name}: {display_command(check.command)}")
    print(f"  profile {args.profile} ({PROFILE_HELP[args.profile]})")
    print(
        f"  interval {check.interval} s, timeout {check.timeout} s, retries {check.retries}, "
        f"start_period {check.start_period} s; speed x{args.speed:g} (waits divided, probes in real time)"
    )
    if args.prefix is not None:
        print(f"  env {PREFIX_VAR}={args.prefix}")
    print("  t = engine seconds since this command started")
    print("   #  t(start)   took   exit  counted            status")
    try:
        result = watch(
            check,
            env=env,
            profile=args.profile,
            speed=args.speed,
            bounds=bounds,
            on_probe=_probe_printer(check.retries),
        )
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    print(_summary(result, args.profile))
    return 0 if result.status == HEALTHY else 1


def _summary(result: WatchResult, profile: str) -> str:
    counted = sum(r.counted for r in result.records)
    head = f"final: {result.status} after {len(result.records)} probes"
    if result.status == UNHEALTHY:
        head += f" (unhealthy at t={result.changes[-1][0]:.1f}s, {counted} counted failures)"
    elif result.healthy_at is not None:
        head += f" (first healthy at t={result.healthy_at:.1f}s)"
    if result.status == STARTING:
        head += f"; stopped by {result.stopped_by}"
    return f"{head} [profile {profile}]"

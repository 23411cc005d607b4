"""What a health check really does over time: an event-by-event simulation.

The design notes promise `S + I×R` and start their timelines when start_period
ends. The engine does neither (see docs/design.md): the first probe runs
at t = interval (classic) or after 5 s (start-interval), a success counts at once,
and a hanging probe costs interval + timeout per round. So every number here is
simulated on `hubspec.healthstate` (one implementation of the rules, shared with
the live prober) for one named engine profile; Fargate's engine is undocumented,
so callers report the range over `PROFILES`.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from hubspec.healthstate import (
    CLASSIC,
    DOCKER_START_INTERVAL,
    HEALTHY,
    PROFILES,
    START_INTERVAL,
    UNHEALTHY,
    HealthState,
    next_probe_start,
)

__all__ = [
    "CLASSIC",
    "HANGS",
    "PROFILES",
    "REFUSED",
    "START_INTERVAL",
    "UP",
    "Behaviour",
    "ChainedTimings",
    "CheckTiming",
    "ProbeRun",
    "ProfileTimings",
    "Simulation",
    "Span",
    "Timings",
    "chained_timings",
    "check_probe_seconds",
    "detection_after_healthy",
    "fails_at",
    "flapping",
    "never_ready",
    "notes_estimate",
    "profile_timings",
    "ready_at",
    "simulate",
    "time_to_healthy",
    "time_to_unhealthy",
    "timings",
]

UP, REFUSED, HANGS = "up", "refused", "hangs"
MODES = (UP, REFUSED, HANGS)
# A failure "just after a probe began" is this much later; results are reported as the limit.
_JUST_AFTER = 1e-6


class CheckTiming(Protocol):
    """The four ECS numbers and the probe's own give-up time; HealthCheckSpec and RenderedHealthCheck both fit."""

    @property
    def interval(self) -> int: ...
    @property
    def timeout(self) -> int: ...
    @property
    def retries(self) -> int: ...
    @property
    def start_period(self) -> int: ...
    @property
    def give_up(self) -> float: ...


@dataclass(frozen=True)
class Behaviour:
    """What a probe meets, decided by the moment it starts.

    `phases` are `(from_second, mode)` pairs in time order; with `period` they
    repeat (flapping). `ok_seconds` is d, how long the server takes to answer; the
    probe passes only if d is below its give-up time (curl `--max-time T-1` for
    rendered probes), else it gives up then and fails. `fail_seconds` is how long a
    fast failure (refused) runs. A hanging probe always runs until it gives up.
    """

    phases: tuple[tuple[float, str], ...]
    ok_seconds: float = 0.0
    fail_seconds: float = 0.0
    period: float | None = None

    def __post_init__(self) -> None:
        if not self.phases or self.phases[0][0] > 0:
            raise ValueError("phases must start at t <= 0")
        if any(mode not in MODES for _, mode in self.phases):
            raise ValueError(f"phase modes must be among {MODES}")
        if self.ok_seconds < 0 or self.fail_seconds < 0:
            raise ValueError("probe durations cannot be negative")

    def phase_changes(self, until: float) -> Iterator[tuple[float, str]]:
        """(time, mode) at t = 0 and at every phase boundary up to `until` (flapping repeats)."""
        cycle = 0
        while True:
            base = cycle * self.period if self.period else 0.0
            for start, mode in self.phases:
                at = base + max(0.0, start)
                if at > until:
                    return
                yield at, mode
            if not self.period:
                return
            cycle += 1

    def mode_at(self, t: float) -> str:
        if self.period:
            t = math.fmod(t, self.period)
        mode = self.phases[0][1]
        for start, phase_mode in self.phases:
            if start <= t:
                mode = phase_mode
        return mode

    def outcome(self, start: float, give_up: float) -> tuple[bool, float, bool]:
        """(passed, duration, gave_up) of a probe starting at `start` that gives up after `give_up` s."""
        mode = self.mode_at(start)
        wanted = self.ok_seconds if mode == UP else self.fail_seconds if mode == REFUSED else math.inf
        if wanted >= give_up:
            return False, float(give_up), True
        return mode == UP, wanted, False


def ready_at(t: float, *, ok_seconds: float = 0.0, before: str = REFUSED, fail_seconds: float = 0.0) -> Behaviour:
    """Probes fail (`before`: refused or hangs) until t, then pass in ok_seconds."""
    phases = ((0.0, UP),) if t <= 0 else ((0.0, before), (float(t), UP))
    return Behaviour(phases, ok_seconds=ok_seconds, fail_seconds=fail_seconds)


def never_ready(mode: str = REFUSED, *, fail_seconds: float = 0.0) -> Behaviour:
    return Behaviour(((0.0, mode),), fail_seconds=fail_seconds)


def fails_at(
    t: float, *, mode: str = REFUSED, ok_seconds: float = 0.0, ready: float = 0.0, fail_seconds: float = 0.0
) -> Behaviour:
    """Ready at `ready`, broken (refused or hangs) from t on."""
    phases = ((0.0, REFUSED), (float(ready), UP), (float(t), mode)) if ready > 0 else ((0.0, UP), (float(t), mode))
    return Behaviour(phases, ok_seconds=ok_seconds, fail_seconds=fail_seconds)


def flapping(
    up: float, down: float, *, mode: str = REFUSED, ok_seconds: float = 0.0, fail_seconds: float = 0.0
) -> Behaviour:
    """Up for `up` seconds, then broken for `down` seconds, repeating from t = 0."""
    if up <= 0 or down <= 0:
        raise ValueError("flapping needs up > 0 and down > 0")
    return Behaviour(
        ((0.0, UP), (float(up), mode)), ok_seconds=ok_seconds, fail_seconds=fail_seconds, period=float(up + down)
    )


@dataclass(frozen=True)
class ProbeRun:
    number: int
    start: float
    end: float
    passed: bool
    timed_out: bool  # the probe gave up (its own limit, or ECS's timeout)
    counted: bool  # a failure that counted towards retries
    streak: int  # failing streak after this probe
    status: str  # status after this probe


@dataclass(frozen=True)
class Simulation:
    profile: str
    probes: tuple[ProbeRun, ...]
    changes: tuple[tuple[float, str], ...]

    def first(self, status: str) -> float | None:
        """When the status first became `status`, or None within the simulated time."""
        return next((at for at, s in self.changes if s == status), None)


def simulate(
    check: CheckTiming,
    behaviour: Behaviour,
    *,
    profile: str,
    until: float,
    stop_at: str | Iterable[str] | None = None,
    start_interval: float = DOCKER_START_INTERVAL,
) -> Simulation:
    """Run probes one after the other (they never overlap) until `until` or a status in `stop_at`."""
    stops = frozenset() if stop_at is None else frozenset((stop_at,) if isinstance(stop_at, str) else stop_at)
    state = HealthState(retries=check.retries, start_period=check.start_period)
    probes: list[ProbeRun] = []
    prev_end: float | None = None
    while True:
        start = next_probe_start(
            profile,
            prev_end=prev_end,
            status=state.status,
            interval=check.interval,
            start_period=check.start_period,
            start_interval=start_interval,
        )
        if start > until:
            break
        passed, duration, timed_out = behaviour.outcome(start, check.give_up)
        end = start + duration
        counted = state.record(start, end, passed)
        probes.append(
            ProbeRun(len(probes) + 1, start, end, passed, timed_out, counted, state.failing_streak, state.status)
        )
        prev_end = end
        if state.status in stops:
            break
    return Simulation(profile, tuple(probes), tuple(state.changes))


def _horizon(check: CheckTiming, extra: float = 0.0) -> float:
    """Long enough for any scenario here to settle: start period plus R+3 slowest rounds."""
    return extra + check.start_period + (check.retries + 3) * (check.interval + check.timeout) + DOCKER_START_INTERVAL


def time_to_healthy(
    check: CheckTiming, *, profile: str, ready: float = 0.0, ok_seconds: float = 0.0, before: str = REFUSED
) -> float | None:
    """When a container whose server answers from `ready` on first shows HEALTHY."""
    sim = simulate(
        check,
        ready_at(ready, ok_seconds=ok_seconds, before=before),
        profile=profile,
        until=_horizon(check, ready),
        stop_at=HEALTHY,
    )
    return sim.first(HEALTHY)


def time_to_unhealthy(check: CheckTiming, *, profile: str, mode: str, fail_seconds: float = 0.0) -> float:
    """When a container that never answers becomes UNHEALTHY (fast failures or hangs)."""
    sim = simulate(
        check, never_ready(mode, fail_seconds=fail_seconds), profile=profile, until=_horizon(check), stop_at=UNHEALTHY
    )
    at = sim.first(UNHEALTHY)
    assert at is not None, "the horizon covers start_period and retries+3 rounds"
    return at


def detection_after_healthy(
    check: CheckTiming, *, profile: str, mode: str, ok_seconds: float = 0.0, fail_seconds: float = 0.0
) -> tuple[float, float]:
    """(best, worst) seconds from a healthy container breaking to UNHEALTHY.

    Worst: it breaks just after a passing probe began (that probe still passes);
    best: just before the next probe begins. Every gap between probes from the
    first success to well past start_period is tried, so transitions between
    schedules are covered, not assumed away.
    """
    healthy = simulate(
        check,
        ready_at(0, ok_seconds=ok_seconds),
        profile=profile,
        until=check.start_period + 3 * (check.interval + ok_seconds) + DOCKER_START_INTERVAL,
    )
    starts = [p.start for p in healthy.probes if p.status == HEALTHY]
    best, worst = math.inf, 0.0
    for this, nxt in itertools.pairwise(starts):
        for broken_at, measured_from in ((this + _JUST_AFTER, this), (nxt, nxt)):
            behaviour = fails_at(broken_at, mode=mode, ok_seconds=ok_seconds, fail_seconds=fail_seconds)
            sim = simulate(check, behaviour, profile=profile, until=_horizon(check, broken_at), stop_at=UNHEALTHY)
            unhealthy = sim.first(UNHEALTHY)
            assert unhealthy is not None  # the horizon is long enough for a broken server to be caught
            took = unhealthy - measured_from
            best, worst = min(best, took), max(worst, took)
    return best, worst


def check_probe_seconds(check: CheckTiming, ok_seconds: float) -> None:
    """The one rule for `--probe-seconds` (timeline and report): a passing probe ends before it gives up."""
    if not 0 <= ok_seconds < check.give_up:
        raise ValueError(
            f"a passing probe cannot take {ok_seconds:g} s: the probe gives up after {check.give_up:g} s "
            f"(timeout {check.timeout} s), so every probe would fail; expected 0 <= seconds < {check.give_up:g} "
            "(a server that never answers in time: --never-ready hangs)"
        )


def notes_estimate(check: CheckTiming) -> int:
    """The notes' 'Total detection time = start_period + (interval × retries)'."""
    return check.start_period + check.interval * check.retries


@dataclass(frozen=True)
class Span:
    """One quantity over engine profiles: lowest and highest value (Fargate: engine unknown)."""

    low: float
    high: float

    @classmethod
    def of(cls, values: Iterable[float]) -> Span:
        values = list(values)
        return cls(min(values), max(values))


@dataclass(frozen=True)
class ProfileTimings:
    """Every headline number for one spec under one engine profile (seconds)."""

    profile: str
    earliest_healthy: float
    healthy_when_started: float | None  # server ready at the declared startup time
    unhealthy_fast: float
    unhealthy_hang: float
    detect_fast: tuple[float, float]  # best, worst
    detect_hang: tuple[float, float]

    @property
    def worst_detection(self) -> tuple[float, str]:
        """The longest time to UNHEALTHY for a broken container in any scenario, and which one."""
        cases = [
            (self.unhealthy_hang, "never ready, probes hang"),
            (self.unhealthy_fast, "never ready, probes fail fast"),
            (self.detect_hang[1], "failure after healthy, probes hang"),
            (self.detect_fast[1], "failure after healthy, probes fail fast"),
        ]
        return max(cases, key=lambda c: c[0])


@dataclass(frozen=True)
class CheckNumbers:
    """The five numbers a simulation depends on (a hashable CheckTiming): the memo's key."""

    interval: int
    timeout: int
    retries: int
    start_period: int
    give_up: float

    @classmethod
    def of(cls, check: CheckTiming) -> CheckNumbers:
        return cls(check.interval, check.timeout, check.retries, check.start_period, check.give_up)


def profile_timings(
    check: CheckTiming, *, profile: str, ok_seconds: float = 0.0, startup: float | None = None
) -> ProfileTimings:
    """Memoized on the numbers: a catalog of many services shares few distinct health checks, and
    each call runs about 30 simulations (lint runs it per service and profile)."""
    return _memo_profile_timings(CheckNumbers.of(check), profile, ok_seconds, startup)


@functools.lru_cache(maxsize=4096)
def _memo_profile_timings(
    check: CheckNumbers, profile: str, ok_seconds: float, startup: float | None
) -> ProfileTimings:
    return simulate_profile_timings(check, profile=profile, ok_seconds=ok_seconds, startup=startup)


def simulate_profile_timings(
    check: CheckTiming, *, profile: str, ok_seconds: float = 0.0, startup: float | None = None
) -> ProfileTimings:
    """profile_timings without the memo (benchmarks/check_scale.py measures the difference)."""
    check_probe_seconds(check, ok_seconds)
    earliest = time_to_healthy(check, profile=profile, ok_seconds=ok_seconds)
    assert earliest is not None  # a server that answers from t = 0 always turns HEALTHY
    return ProfileTimings(
        profile=profile,
        earliest_healthy=earliest,
        healthy_when_started=(
            None if startup is None else time_to_healthy(check, profile=profile, ready=startup, ok_seconds=ok_seconds)
        ),
        unhealthy_fast=time_to_unhealthy(check, profile=profile, mode=REFUSED),
        unhealthy_hang=time_to_unhealthy(check, profile=profile, mode=HANGS),
        detect_fast=detection_after_healthy(check, profile=profile, mode=REFUSED, ok_seconds=ok_seconds),
        detect_hang=detection_after_healthy(check, profile=profile, mode=HANGS, ok_seconds=ok_seconds),
    )


@dataclass(frozen=True)
class Timings:
    """A spec's numbers for every profile, plus the range Fargate may show."""

    by_profile: dict[str, ProfileTimings]
    ok_seconds: float

    def span(self, attr: str, index: int | None = None) -> Span:
        values = [getattr(t, attr) for t in self.by_profile.values()]
        if index is not None:
            values = [v[index] for v in values]
        return Span.of(values)

    @property
    def worst_detection(self) -> tuple[float, str, str]:
        """(seconds, scenario, profile) of the slowest detection over all profiles."""
        value, scenario, profile = max(
            (t.worst_detection + (p,) for p, t in self.by_profile.items()), key=lambda c: c[0]
        )
        return value, scenario, profile


def timings(
    check: CheckTiming, *, ok_seconds: float = 0.0, startup: float | None = None, profiles: tuple[str, ...] = PROFILES
) -> Timings:
    return Timings(
        {p: profile_timings(check, profile=p, ok_seconds=ok_seconds, startup=startup) for p in profiles}, ok_seconds
    )


@dataclass(frozen=True)
class ChainedTimings:
    """A task whose server waits (`depends_on: HEALTHY`) for sidecars, on one engine profile (seconds since
    the task's containers could first start).

    ECS starts the server only when every such sidecar is HEALTHY, so its own check starts late:
    `server_starts` is the slowest sidecar's earliest HEALTHY (its service answering from t = 0), and every
    server number is that plus the single-container simulation. If a sidecar never turns healthy the server
    never starts: an essential sidecar makes the task UNHEALTHY when its own check gives up
    (`sidecar_never_ready`: refused, hanging); a non-essential one leaves the task PENDING (None).
    """

    profile: str
    sidecars_healthy: tuple[tuple[str, float], ...]
    server_starts: float
    ready: float  # server answering at once: its HEALTHY
    never_ready_refused: float  # server never answers, probes refused: task UNHEALTHY
    never_ready_hangs: float  # ... probes hang
    sidecar_never_ready: tuple[float | None, float | None]  # a waited-on sidecar never answers: refused, hangs

    @property
    def worst(self) -> float:
        """The longest time to UNHEALTHY over the chained never-ready cases (a PENDING task excluded)."""
        values = [self.never_ready_refused, self.never_ready_hangs]
        values += [v for v in self.sidecar_never_ready if v is not None]
        return max(values)


def chained_timings(spec: object, *, profile: str) -> ChainedTimings | None:
    """The chained timeline of a ServiceSpec whose main container waits for a sidecar to be HEALTHY; None
    when it waits for none (then the single-container numbers are the task's)."""
    from hubspec.model import ServiceSpec  # typed here, imported late: model does not import timing

    assert isinstance(spec, ServiceSpec)
    waited = [spec.container(name) for name, condition in spec.depends_on.items() if condition == "HEALTHY"]
    checked = [(c, c.health_check) for c in waited if c.health_check is not None]
    if not checked:
        return None
    healthy = tuple((c.name, time_to_healthy(hc, profile=profile) or 0.0) for c, hc in checked)
    starts = max(t for _, t in healthy)
    main = spec.health_check
    earliest = time_to_healthy(main, profile=profile)
    assert earliest is not None

    def sidecar_fails(mode: str) -> float | None:
        if any(not c.essential for c, _ in checked):
            return None  # the server never starts and nothing decides the task's health: PENDING
        return min(time_to_unhealthy(hc, profile=profile, mode=mode) for _, hc in checked)

    return ChainedTimings(
        profile=profile,
        sidecars_healthy=healthy,
        server_starts=starts,
        ready=starts + earliest,
        never_ready_refused=starts + time_to_unhealthy(main, profile=profile, mode=REFUSED),
        never_ready_hangs=starts + time_to_unhealthy(main, profile=profile, mode=HANGS),
        sidecar_never_ready=(sidecar_fails(REFUSED), sidecar_fails(HANGS)),
    )

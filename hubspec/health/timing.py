"""What a health check really does over time: an event-by-event simulation.

The design notes promise `S + I×R` and start their timelines when start_period
ends. The engine does neither (see docs/design.md): the first probe runs
at t = interval (classic) or after 5 s (start-interval), a success counts at once,
and a hanging probe costs interval + timeout per round. So every number here is
simulated on `hubspec.health.healthstate` (one implementation of the rules, shared with
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

from hubspec.health.healthstate import (
    CLASSIC,
    DOCKER_START_INTERVAL,
    HEALTHY,
    PROFILES,
    START_INTERVAL,
    UNHEALTHY,
    HealthState,
    next_probe_start,
)
from hubspec.model import ContainerSpec, ServiceSpec

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
    "ContainerChain",
    "ProbeRun",
    "ProfileTimings",
    "Simulation",
    "Span",
    "Timings",
    "chained_timings",
    "check_probe_seconds",
    "decides_task_health",
    "detection_after_healthy",
    "fails_at",
    "flapping",
    "health_deciders",
    "never_ready",
    "notes_estimate",
    "profile_timings",
    "ready_at",
    "simulate",
    "task_worst_detection",
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


def decides_task_health(container: ContainerSpec) -> bool:
    """Whether this container's health is part of the task's: ECS reports a task UNHEALTHY if any essential
    container with a health check is, UNKNOWN if any of them is, else HEALTHY. A non-essential container's
    check, or an essential container without one, never makes the task UNHEALTHY."""
    return container.essential and container.health_check is not None


def health_deciders(spec: ServiceSpec) -> tuple[ContainerSpec, ...]:
    """The containers whose checks decide the task's health (the main container is always one), file order."""
    return tuple(c for c in spec.containers if decides_task_health(c))


@dataclass(frozen=True)
class ContainerChain:
    """One container of a task on one engine profile: when ECS starts it and when its own check decides.

    `starts`: when every container it `depends_on` has reached its condition (HEALTHY: that container's
    earliest HEALTHY; START, COMPLETE, SUCCESS: that container's start, its run time being unknown).
    The other numbers are seconds since the task's containers could first start, its service answering
    from its own start (`healthy`), or never (`never_ready_fast`, `never_ready_hang`); None without a check.
    """

    name: str
    starts: float
    decides: bool
    timings: ProfileTimings | None

    @property
    def healthy(self) -> float | None:
        return None if self.timings is None else self.starts + self.timings.earliest_healthy

    @property
    def never_ready(self) -> tuple[float, float] | None:
        """UNHEALTHY if it never answers: probes refused, probes hang."""
        t = self.timings
        return None if t is None else (self.starts + t.unhealthy_fast, self.starts + t.unhealthy_hang)


@dataclass(frozen=True)
class ChainedTimings:
    """A task whose containers wait for each other (`depends_on`), or whose health an essential sidecar's check
    shares, on one engine profile (seconds since the task's containers could first start).

    ECS starts the server only when every container it waits on for HEALTHY is HEALTHY, so its own check
    starts late (`server_starts`), and every server number is that plus the single-container simulation.
    The task is HEALTHY when every container in `health_deciders` is (`ready`). If a sidecar never answers,
    the containers waiting on it never start: an essential sidecar with a check makes the task UNHEALTHY when
    its own check gives up (`sidecar_never_ready`: refused, hangs); otherwise the task stays PENDING (None).
    """

    profile: str
    containers: tuple[ContainerChain, ...]  # the main container first, then the sidecars in file order
    server_starts: float
    ready: float  # every container answering at once: the task's HEALTHY
    ready_when_started: float | None  # the server ready at its declared start-up time instead
    never_ready_refused: float  # server never answers, probes refused: task UNHEALTHY
    never_ready_hangs: float  # ... probes hang
    sidecar_never_ready: tuple[tuple[str, float | None, float | None], ...]  # (sidecar, refused, hangs)

    @property
    def main(self) -> ContainerChain:
        return self.containers[0]

    @property
    def sidecars_healthy(self) -> tuple[tuple[str, float], ...]:
        """(name, earliest HEALTHY) of every sidecar with a check."""
        return tuple((c.name, c.healthy) for c in self.containers[1:] if c.healthy is not None)

    @property
    def worst(self) -> tuple[float, str]:
        """The longest time to UNHEALTHY for a broken task, and which case: a container that decides the task's
        health never answers (from its own start) or breaks after being healthy. A PENDING task is excluded."""
        cases: list[tuple[float, str]] = []
        for c in self.containers:
            if not c.decides or c.timings is None:
                continue
            t, who = c.timings, c.name
            after = f", started at {c.starts:g} s" if c.starts else ""
            cases += [
                (c.starts + t.unhealthy_hang, f"{who} never ready, probes hang{after}"),
                (c.starts + t.unhealthy_fast, f"{who} never ready, probes fail fast{after}"),
                (t.detect_hang[1], f"{who} fails after healthy, probes hang"),
                (t.detect_fast[1], f"{who} fails after healthy, probes fail fast"),
            ]
        return max(cases, key=lambda c: c[0])


def _container_starts(spec: ServiceSpec, timings_of: dict[str, ProfileTimings | None]) -> dict[str, float]:
    """When ECS starts each container (the loader refuses cycles and unknown names)."""
    containers = {c.name: c for c in spec.containers}
    starts: dict[str, float] = {}

    def start(name: str) -> float:
        if name not in starts:
            at = 0.0
            for dep, condition in containers[name].depends_on.items():
                t = timings_of[dep]
                at = max(at, start(dep) + (t.earliest_healthy if condition == "HEALTHY" and t else 0.0))
            starts[name] = at
        return starts[name]

    for name in containers:
        start(name)
    return starts


def _blocked_by(spec: ServiceSpec, name: str) -> set[str]:
    """Containers that never start while `name` is not HEALTHY (they wait on it for HEALTHY, directly or not)."""
    blocked: set[str] = set()
    grew = True
    while grew:
        grew = False
        for c in spec.containers:
            if c.name not in blocked and any(
                condition == "HEALTHY" and (dep == name or dep in blocked) for dep, condition in c.depends_on.items()
            ):
                blocked.add(c.name)
                grew = True
    return blocked


def chained_timings(
    spec: ServiceSpec, *, profile: str, ok_seconds: float = 0.0, startup: float | None = None
) -> ChainedTimings | None:
    """The task's timeline when its containers wait for each other or share its health; None when neither
    (the server starts at once and only its check decides: the single-container numbers are the task's).

    `ok_seconds` and `startup` apply to the server's own check, as in `timings`; sidecars answer at once.
    Every number comes from the memoized single-container simulation (`profile_timings`), shifted.
    """
    deciders = {c.name for c in health_deciders(spec)}
    timings_of = {
        c.name: None
        if c.health_check is None
        else profile_timings(
            c.health_check,
            profile=profile,
            ok_seconds=ok_seconds if c.name == spec.name else 0.0,
            startup=startup if c.name == spec.name else None,
        )
        for c in spec.containers
    }
    starts = _container_starts(spec, timings_of)
    if starts[spec.name] == 0 and deciders == {spec.name}:
        return None
    chain = tuple(
        ContainerChain(c.name, starts[c.name], c.name in deciders, timings_of[c.name]) for c in spec.containers
    )
    main = chain[0]
    main_t = timings_of[spec.name]
    assert main_t is not None and main.healthy is not None and main.never_ready is not None  # always checked
    others = [c.healthy for c in chain[1:] if c.decides and c.healthy is not None]
    sidecar_cases: list[tuple[str, float | None, float | None]] = []
    for c in chain[1:]:
        if c.never_ready is None:
            continue  # without a check nothing waits on it for HEALTHY (the loader refuses that)
        if c.decides:
            sidecar_cases.append((c.name, *c.never_ready))
        elif _blocked_by(spec, c.name) & deciders:
            sidecar_cases.append((c.name, None, None))  # a deciding container never starts: PENDING
    return ChainedTimings(
        profile=profile,
        containers=chain,
        server_starts=main.starts,
        ready=max([main.healthy, *others]),
        ready_when_started=(
            None if main_t.healthy_when_started is None else max([main.starts + main_t.healthy_when_started, *others])
        ),
        never_ready_refused=main.never_ready[0],
        never_ready_hangs=main.never_ready[1],
        sidecar_never_ready=tuple(sidecar_cases),
    )


def task_worst_detection(spec: ServiceSpec, *, profile: str, ok_seconds: float = 0.0) -> tuple[float, str]:
    """The task's longest time to UNHEALTHY on one profile, and which case: the chained worst case when its
    containers wait for each other or share its health, else the server's own (one owner for lint and report)."""
    chained = chained_timings(spec, profile=profile, ok_seconds=ok_seconds)
    if chained is not None:
        return chained.worst
    return profile_timings(spec.health_check, profile=profile, ok_seconds=ok_seconds).worst_detection


def task_earliest_healthy(spec: ServiceSpec, *, profile: str) -> float:
    """When the task first reports HEALTHY if every container answers from its own start: the chained time
    when its containers wait for each other or share its health, else the server's own earliest HEALTHY."""
    chained = chained_timings(spec, profile=profile)
    if chained is not None:
        return chained.ready
    return profile_timings(spec.health_check, profile=profile).earliest_healthy

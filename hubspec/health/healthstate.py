"""The container health state machine and probe schedules, as pure functions of time.

Rules (moby daemon/health.go, handleProbeResult; see docs/design.md):
status starts `starting`; any success makes it `healthy` and resets the
failure streak; a failure whose probe *started* inside start_period while the
container was never healthy is not counted; `retries` consecutive counted
failures make it `unhealthy`. Probes never overlap. Times are seconds since
the container started. Both the simulator (timing) and the live prober use
this one implementation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

STARTING, HEALTHY, UNHEALTHY = "starting", "healthy", "unhealthy"

CLASSIC = "classic"
START_INTERVAL = "start-interval"
PROFILES = (CLASSIC, START_INTERVAL)
PROFILE_HELP = {
    CLASSIC: "Docker <= 24: first probe at t = interval, then interval after each probe ends",
    START_INTERVAL: "Docker 27+: every 5 s while starting inside start_period, a probe when it ends, then interval",
}
DOCKER_START_INTERVAL = 5.0


@dataclass
class HealthState:
    """Feed probe results in order; read `status` and `failing_streak`."""

    retries: int
    start_period: float
    status: str = STARTING
    failing_streak: int = 0
    changes: list[tuple[float, str]] = field(default_factory=list)

    def record(self, started: float, ended: float, ok: bool) -> bool:
        """Apply one probe result; returns whether the failure counted (False for successes)."""
        if ok:
            self.failing_streak = 0
            self._set(ended, HEALTHY)
            return False
        if self.status == STARTING and self.start_period > 0 and started < self.start_period:
            return False
        self.failing_streak += 1
        if self.failing_streak >= self.retries:
            self._set(ended, UNHEALTHY)
        return True

    def _set(self, at: float, status: str) -> None:
        if status != self.status:
            self.status = status
            self.changes.append((at, status))


def next_probe_start(
    profile: str,
    *,
    prev_end: float | None,
    status: str,
    interval: float,
    start_period: float,
    start_interval: float = DOCKER_START_INTERVAL,
) -> float:
    """When the next probe starts, given when the previous one ended (None: no probe yet)."""
    since = 0.0 if prev_end is None else prev_end
    if profile == CLASSIC:
        return since + interval
    if profile == START_INTERVAL:
        in_start = status == STARTING and start_period > 0 and since < start_period
        if in_start:
            nxt = since + start_interval
            # Newest moby probes exactly when start_period ends rather than overshoot it.
            return nxt if nxt <= start_period or since >= start_period else max(since, start_period)
        return since + interval
    raise ValueError(f"unknown engine profile {profile!r}; known: {', '.join(PROFILES)}")

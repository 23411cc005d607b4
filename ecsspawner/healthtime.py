"""How long a service's container health check should take to report HEALTHY, from the plain timing model.

The spawner uses it twice: at start-up, to warn when `start_timeout` cannot cover
a prefer_ecs_health service's check, and when a start gives up waiting, to tell
the user by when the check should have passed.
"""

from __future__ import annotations

from dataclasses import dataclass

from hubspec import ServiceSpec
from hubspec.health.timing import PROFILES, time_to_healthy


@dataclass(frozen=True)
class HealthyBy:
    """The slowest simulated time to HEALTHY over the engine profiles, and what it assumes."""

    seconds: float
    profile: str
    ready_at: float  # when the server is assumed to answer: the declared p95 start-up, else start_period
    ok_seconds: float  # how long a passing probe is assumed to take: just under the probe's give-up time


def check_summary(service: ServiceSpec) -> str:
    """`interval 15 s, timeout 10 s, retries 8, start period 45 s`: the four ECS numbers (I/T/R/S)."""
    hc = service.health_check
    return f"interval {hc.interval} s, timeout {hc.timeout} s, retries {hc.retries}, start period {hc.start_period} s"


def worst_time_to_healthy(service: ServiceSpec) -> HealthyBy:
    """Simulated worst case: the server answers at its p95 start-up (or at start_period) and probes are slow."""
    hc = service.health_check
    ready = service.startup_p95 if service.startup_p95 is not None else float(hc.start_period)
    # The slowest probe that still passes answers just before the probe gives up (rendered probes: T - 1 s).
    ok = max(0.0, hc.give_up - 1e-6)
    results = []
    for profile in PROFILES:
        at = time_to_healthy(hc, profile=profile, ready=ready, ok_seconds=ok)
        if at is not None:
            results.append((at, profile))
    seconds, profile = max(results) if results else (float("inf"), PROFILES[0])
    return HealthyBy(seconds=seconds, profile=profile, ready_at=ready, ok_seconds=ok)

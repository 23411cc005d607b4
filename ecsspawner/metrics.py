"""Prometheus metrics, defined once per process.

Module level on purpose: prometheus_client refuses to register a name twice, and
a hub (or a test run) creates many spawners. JupyterHub serves the default
registry at /hub/metrics, so these appear there. `define(registry)` builds the
same set on another registry: tests render a fresh one (so what `hubspec tune
--from-metrics` and the Grafana dashboard expect cannot drift from what the
spawner exports).
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram

BUCKETS = (5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 240, 300, 450, 600, float("inf"))


@dataclass(frozen=True)
class Metrics:
    time_to_running: Histogram
    time_to_healthy: Histogram
    spawns: Counter
    orphans_stopped: Counter
    reaper_decisions: Counter
    poll_results: Counter
    stop_failures: Counter
    hub_id_conflicts: Counter


def define(registry: CollectorRegistry) -> Metrics:
    """Every ecsspawner metric, registered on `registry`."""
    return Metrics(
        time_to_running=Histogram(
            "ecsspawner_time_to_running_seconds",
            "Seconds from RunTask to the task RUNNING with a private IP",
            ["service", "size"],
            buckets=BUCKETS,
            registry=registry,
        ),
        time_to_healthy=Histogram(
            "ecsspawner_time_to_healthy_seconds",
            "Seconds from RunTask to ECS healthStatus HEALTHY (services with prefer_ecs_health)",
            ["service", "size"],
            buckets=BUCKETS,
            registry=registry,
        ),
        spawns=Counter(
            "ecsspawner_spawns_total",
            "Spawns that ended, by service, size and outcome (ready, failed, cancelled), as in the spawn records",
            ["service", "size", "outcome"],
            registry=registry,
        ),
        orphans_stopped=Counter(
            "ecsspawner_orphans_stopped_total",
            "Tasks the orphan reaper stopped (not counted in dry-run)",
            registry=registry,
        ),
        reaper_decisions=Counter(
            "ecsspawner_reaper_decisions_total",
            "Every decision the orphan reaper made about a task, by outcome",
            ["decision"],
            registry=registry,
        ),
        poll_results=Counter(
            "ecsspawner_poll_results_total",
            "poll() outcomes: running, stopped, missing, unhealthy, aws-error",
            ["result"],
            registry=registry,
        ),
        stop_failures=Counter(
            "ecsspawner_stop_failures_total",
            "StopTask calls that failed after their retries (the task is kept on the reaper's retry list), by caller",
            ["caller"],
            registry=registry,
        ),
        hub_id_conflicts=Counter(
            "ecsspawner_hub_id_conflicts_total",
            "Tasks tagged with this hub's id but another hub's install id (left alone), by where they were seen",
            ["where"],
            registry=registry,
        ),
    )


_DEFAULT = define(REGISTRY)
TIME_TO_RUNNING = _DEFAULT.time_to_running
TIME_TO_HEALTHY = _DEFAULT.time_to_healthy
SPAWNS = _DEFAULT.spawns
ORPHANS_STOPPED = _DEFAULT.orphans_stopped
REAPER_DECISIONS = _DEFAULT.reaper_decisions
POLL_RESULTS = _DEFAULT.poll_results
STOP_FAILURES = _DEFAULT.stop_failures
HUB_ID_CONFLICTS = _DEFAULT.hub_id_conflicts

"""Prometheus metrics, defined once per process.

Module level on purpose: prometheus_client refuses to register a name twice, and
a hub (or a test run) creates many spawners. JupyterHub serves the default
registry at /hub/metrics, so these appear there.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

_BUCKETS = (5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 240, 300, 450, 600, float("inf"))

TIME_TO_RUNNING = Histogram(
    "ecsspawner_time_to_running_seconds",
    "Seconds from RunTask to the task RUNNING with a private IP",
    ["service", "size"],
    buckets=_BUCKETS,
)
TIME_TO_HEALTHY = Histogram(
    "ecsspawner_time_to_healthy_seconds",
    "Seconds from RunTask to ECS healthStatus HEALTHY (services with prefer_ecs_health)",
    ["service", "size"],
    buckets=_BUCKETS,
)
ORPHANS_STOPPED = Counter(
    "ecsspawner_orphans_stopped_total",
    "Tasks the orphan reaper stopped (not counted in dry-run)",
)
REAPER_DECISIONS = Counter(
    "ecsspawner_reaper_decisions_total",
    "Every decision the orphan reaper made about a task, by outcome",
    ["decision"],
)
POLL_RESULTS = Counter(
    "ecsspawner_poll_results_total",
    "poll() outcomes: running, stopped, missing, unhealthy, aws-error",
    ["result"],
)
STOP_FAILURES = Counter(
    "ecsspawner_stop_failures_total",
    "StopTask calls that failed after their retries (the task is kept on the reaper's retry list), by caller",
    ["caller"],
)
HUB_ID_CONFLICTS = Counter(
    "ecsspawner_hub_id_conflicts_total",
    "Tasks tagged with this hub's id but another hub's install id (left alone), by where they were seen",
    ["where"],
)

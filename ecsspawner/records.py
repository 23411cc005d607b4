"""One structured record per spawn: to the hub's log and, if configured, to a JSON-lines file.

start() makes a `SpawnRecorder`, tells it when RunTask answered, shows it every task
it reads while waiting, and closes it once, on success or failure. The record is
what `hubspec tune --samples` and `hubspec observed` read (hubspec/health/observed.py
parses the same fields; the hub depends on hubspec, never the reverse):

    {"record": "ecsspawner.spawn", "version": 1, "at": "2026-11-30T11:20:05Z",
     "hub_id": "hub-a", "user": "alice", "server": "", "service": "chat", "size": "small",
     "family": "calliope-hub-dev-chat-small", "cpu_architecture": "X86_64",
     "task_arn": "arn:aws:ecs:...", "spawn_id": "...", "prefer_ecs_health": true,
     "time_to_running_seconds": 31.2, "time_to_healthy_seconds": 52.4,
     "outcome": "ready", "reason": null, "message": null, "stop_code": null, "stopped_reason": null}

Times are seconds from RunTask's answer to the first read that showed the task
RUNNING with a private IP, and to the first read that showed healthStatus HEALTHY,
exactly as the metrics ecsspawner_time_to_running_seconds and
ecsspawner_time_to_healthy_seconds measure them (each record also counts once in
ecsspawner_spawns_total{service, size, outcome}) (so, too, late by up to one
`start_poll_interval`); null when the spawn never got there. `outcome` is `ready`,
`failed` (then `reason` is the SpawnException's reason, e.g. task-stopped, unhealthy,
start-deadline, aws-error) or `cancelled` (JupyterHub's start_timeout ended start()).
`stop_code` / `stopped_reason` are the task's, as last read while starting.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from datetime import UTC, datetime
from typing import Any

from ecsspawner import metrics, taskview

RECORD_KIND = "ecsspawner.spawn"
RECORD_VERSION = 1
MESSAGE_LIMIT = 500


class SpawnRecorder:
    """Collects one spawn's times and outcome; `finish()` builds the record and writes it once."""

    def __init__(
        self,
        *,
        hub_id: str,
        user: str,
        server: str,
        service: str,
        size: str,
        family: str,
        prefer_ecs_health: bool,
        spawn_id: str,
        path: str = "",
        log: logging.Logger | logging.LoggerAdapter[Any] | None = None,
        clock: Any = time.monotonic,
    ) -> None:
        self.fields: dict[str, Any] = {
            "hub_id": hub_id,
            "user": user,
            "server": server,
            "service": service,
            "size": size,
            "family": family,
            "prefer_ecs_health": prefer_ecs_health,
            "spawn_id": spawn_id,
        }
        self.path = path
        self.log = log or logging.getLogger(__name__)
        self._clock = clock
        self._launched: float | None = None
        self._running: float | None = None
        self._healthy: float | None = None
        self._task: dict | None = None
        self._done = False

    def launched(self) -> None:
        """RunTask answered: the times count from here (as the metrics do)."""
        if self._launched is None:
            self._launched = self._clock()

    def saw(self, task: dict) -> None:
        """A task read while starting: note the first RUNNING-with-IP and the first HEALTHY."""
        self.launched()
        self._task = task
        since = self._clock() - (self._launched or 0.0)
        if self._running is None and taskview.phase(task) == "running" and taskview.private_ip(task):
            self._running = since
        if self._healthy is None and self._running is not None and task.get("healthStatus") == "HEALTHY":
            self._healthy = since

    def record(self, error: BaseException | None) -> dict[str, Any]:
        """The record for a spawn that ended with `error` (None: it succeeded)."""
        task = self._task or {}
        if error is None:
            outcome, reason, message = "ready", None, None
        elif isinstance(error, asyncio.CancelledError):
            outcome, reason, message = "cancelled", "cancelled", "start() was cancelled (JupyterHub's start_timeout)"
        else:
            outcome = "failed"
            reason = getattr(error, "reason", None) or type(error).__name__
            message = (getattr(error, "message", None) or str(error))[:MESSAGE_LIMIT] or None
        return {
            "record": RECORD_KIND,
            "version": RECORD_VERSION,
            "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            **self.fields,
            "cpu_architecture": cpu_architecture(task),
            "task_arn": task.get("taskArn") or None,
            "time_to_running_seconds": _seconds(self._running),
            "time_to_healthy_seconds": _seconds(self._healthy),
            "outcome": outcome,
            "reason": reason,
            "message": message,
            "stop_code": task.get("stopCode") or None,
            "stopped_reason": task.get("stoppedReason") or None,
        }

    def finish(self, error: BaseException | None) -> dict[str, Any] | None:
        """Build the record, log it, append it to `path`; once per spawn, never raises."""
        if self._done:
            return None
        self._done = True
        try:
            record = self.record(error)
            line = json.dumps(record, sort_keys=False, separators=(", ", ": "), default=str)
            metrics.SPAWNS.labels(record["service"], record["size"], record["outcome"]).inc()
        except Exception:  # a record must never turn a spawn's outcome into another error
            self.log.exception("ECSSpawner: could not build the spawn record")
            return None
        self.log.info("ECSSpawner spawn record: %s", line)
        if self.path:
            append_line(self.path, line, self.log)
        return record


def cpu_architecture(task: dict) -> str | None:
    """The task's `ecs.cpu-architecture` attribute (Fargate reports it for some platforms), else None."""
    for attribute in task.get("attributes") or []:
        if attribute.get("name") == "ecs.cpu-architecture" and attribute.get("value"):
            return str(attribute["value"])
    return None


def append_line(path: str, line: str, log: logging.Logger | logging.LoggerAdapter[Any]) -> bool:
    """Append one JSON line with a single O_APPEND write (lines of concurrent spawns do not interleave)."""
    data = (line + "\n").encode("utf-8")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
    except OSError as exc:
        log.error("ECSSpawner: cannot append the spawn record to %s: %s", path, exc.strerror or exc)
        return False
    return True


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 3)

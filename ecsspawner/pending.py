"""Tasks whose StopTask failed: the hub-wide list the reaper retries first.

JupyterHub forgets a server once `stop()` returns or raises (it clears the state in a
`finally`), and poll()'s stop of an UNHEALTHY task cannot raise at all. A StopTask that
fails there (AccessDenied, throttling past the retries) would leave a running task that
no spawner holds. Every such failure is counted, logged and put on this list; each
reaper sweep retries the list before anything else, until ECS stops the task or no
longer knows it. The list lives in the hub process: after a hub restart the reaper's
orphan rules (held by nobody, old enough, two sweeps) find the same tasks again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class PendingStop:
    arn: str
    cluster: str
    reason: str
    error: str
    failures: int = 1
    first_failed: float = field(default_factory=time.time)


@dataclass
class PendingStops:
    _tasks: dict[str, PendingStop] = field(default_factory=dict)

    def add(self, arn: str, cluster: str, reason: str, error: str) -> PendingStop:
        entry = self._tasks.get(arn)
        if entry is None:
            entry = self._tasks[arn] = PendingStop(arn, cluster, reason, error)
        else:
            entry.failures += 1
            entry.error = error
        return entry

    def discard(self, arn: str) -> None:
        self._tasks.pop(arn, None)

    def entries(self) -> list[PendingStop]:
        return list(self._tasks.values())

    def __contains__(self, arn: str) -> bool:
        return arn in self._tasks

    def __len__(self) -> int:
        return len(self._tasks)


_pending: dict[str, PendingStops] = {}


def pending_stops_for(hub_id: str) -> PendingStops:
    """The hub-wide list of tasks JupyterHub asked to stop whose StopTask failed."""
    return _pending.setdefault(hub_id, PendingStops())


def reset() -> None:
    """Forget every list (tests)."""
    _pending.clear()

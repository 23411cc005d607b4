"""One DescribeTasks reader per hub and cluster, shared by every spawner.

With N servers, polling each task on its own costs N calls a round and runs
into ECS's API throttling. Here a cache miss refreshes every task the hub
watches, 100 ARNs a call, and concurrent misses wait for the same refresh: one
poll round costs ceil(N/100) DescribeTasks calls.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ecsspawner import aws

BATCH = 100  # DescribeTasks' limit

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Lookup:
    """One task as the reader last saw it: found (task), MISSING, or unknown because of an AWS error."""

    task: dict | None = None
    missing: bool = False
    error: str = ""

    @property
    def found(self) -> bool:
        return self.task is not None


@dataclass
class _Entry:
    lookup: Lookup
    at: float


@dataclass
class TaskReader:
    """Batched, cached, coalescing DescribeTasks (always with tags) for one cluster."""

    client: Any
    cluster: str
    ttl: float = 5.0
    watch_window: float = 300.0
    clock: Callable[[], float] = time.monotonic
    log: logging.Logger = field(default=log, repr=False)  # the hub's logger when a spawner builds the reader
    calls: int = 0
    _cache: dict[str, _Entry] = field(default_factory=dict)
    _watched: dict[str, float] = field(default_factory=dict)
    _wanted: dict[str, float] = field(default_factory=dict)
    _flight: asyncio.Future | None = None
    _essential: dict[str, tuple[str, ...]] = field(default_factory=dict)

    async def get(self, arn: str, *, max_age: float | None = None) -> Lookup:
        """`arn` no older than `max_age` (default: the cache ttl), refreshing all watched tasks if needed."""
        max_age = self.ttl if max_age is None else max_age
        self._watched[arn] = self.clock()
        self._wanted[arn] = min(max_age, self._wanted.get(arn, max_age))
        asked = self.clock()
        for _ in range(3):
            entry = self._cache.get(arn)
            if entry is not None and asked - entry.at <= max_age:  # fresh when asked, or read since
                return entry.lookup
            if self._flight is None or self._flight.done():
                self._flight = asyncio.ensure_future(self._refresh())
            errors = await asyncio.shield(self._flight)
            if arn in errors:
                return Lookup(error=errors[arn])
        entry = self._cache.get(arn)
        return entry.lookup if entry else Lookup(error="no fresh answer")

    async def describe_now(self, arns: list[str]) -> dict[str, Lookup]:
        """Fresh lookups for `arns` (the reaper's view), in batches; raises on AWS errors."""
        out: dict[str, Lookup] = {}
        for start in range(0, len(arns), BATCH):
            out.update(await self._describe(arns[start : start + BATCH]))
        return out

    def forget(self, arn: str) -> None:
        """Stop watching a task whose server is gone."""
        self._watched.pop(arn, None)
        self._wanted.pop(arn, None)
        self._cache.pop(arn, None)

    async def essential_containers(self, task_definition: str, *, strict: bool = False) -> tuple[str, ...] | None:
        """Essential container names of a task definition ARN or family (cached); None if unknown.

        strict: AWS errors go up (start() reports them) instead of meaning "unknown".
        """
        arn = task_definition
        if arn and arn not in self._essential:
            try:
                reply = await aws.call(self.client.describe_task_definition, taskDefinition=arn)
            except Exception as exc:  # a name guess is better than no exit code
                if strict:
                    raise
                self.log.warning(
                    "DescribeTaskDefinition %s failed (%s): using every container", arn, aws.error_code(exc)
                )
                return None
            defs = reply["taskDefinition"].get("containerDefinitions", [])
            self._essential[arn] = tuple(d["name"] for d in defs if d.get("essential", True))
        return self._essential.get(arn)

    async def _refresh(self) -> dict[str, str]:
        """Describe every watched ARN older than the ttl, and requested ones older than asked for.

        Returns {arn: error} for the batches that failed.
        """
        await asyncio.sleep(0)  # let polls of the same round join this refresh
        now = self.clock()
        for arn, seen in list(self._watched.items()):
            if now - seen > self.watch_window:
                self.forget(arn)
        wanted, self._wanted = self._wanted, {}

        def age(arn: str) -> float:
            entry = self._cache.get(arn)
            return now - entry.at if entry else float("inf")

        stale = [a for a in self._watched if age(a) > min(self.ttl, wanted.get(a, self.ttl))]
        errors: dict[str, str] = {}
        for start in range(0, len(stale), BATCH):
            batch = stale[start : start + BATCH]
            try:
                found = await self._describe(batch)
            except Exception as exc:
                code = aws.error_code(exc)
                self.log.warning(
                    "DescribeTasks for %d tasks failed (%s): keeping their servers as they are", len(batch), code
                )
                errors.update({arn: code or "error" for arn in batch})
                continue
            at = self.clock()
            for arn, lookup in found.items():
                self._cache[arn] = _Entry(lookup, at)
        return errors

    async def _describe(self, batch: list[str]) -> dict[str, Lookup]:
        self.calls += 1
        reply = await aws.call(self.client.describe_tasks, cluster=self.cluster, tasks=batch, include=["TAGS"])
        out = {arn: Lookup(missing=True) for arn in batch}  # moto omits unknown ARNs from `failures`
        for task in reply.get("tasks", []):
            arn = task["taskArn"]
            if arn in out:
                out[arn] = Lookup(task=task)
        for failure in reply.get("failures", []):
            arn = failure.get("arn", "")
            if arn in out and failure.get("reason") != "MISSING":
                out[arn] = Lookup(error=f"{failure.get('reason')}: {failure.get('detail', '')}")
        return out


_shared: dict[tuple, TaskReader] = {}
_making: dict[tuple, asyncio.Future] = {}


def shared_reader(
    key: tuple, make_client: Callable[[], Any], cluster: str, ttl: float, *, log: logging.Logger = log
) -> TaskReader:
    """The hub-wide reader for `key` (hub id, region, cluster), created on first use."""
    reader = _shared.get(key)
    if reader is None:
        reader = _shared[key] = TaskReader(client=make_client(), cluster=cluster, ttl=ttl, log=log)
    return reader


async def open_shared_reader(
    key: tuple, make_client: Callable[[], Any], cluster: str, ttl: float, *, log: logging.Logger = log
) -> TaskReader:
    """`shared_reader`, with the client made in a worker thread: one client however many spawns ask at once."""
    reader = _shared.get(key)
    if reader is not None:
        return reader
    making = _making.get(key)
    if making is None:
        making = _making[key] = asyncio.ensure_future(aws.call(make_client))
    try:
        client = await asyncio.shield(making)
    finally:
        if making.done() and _making.get(key) is making:
            del _making[key]  # made (a failure is tried again by the next caller)
    return _shared.setdefault(key, TaskReader(client=client, cluster=cluster, ttl=ttl, log=log))


def existing_reader(key: tuple) -> TaskReader | None:
    """The shared reader for `key` if one was made (never makes one)."""
    return _shared.get(key)


def reset_shared() -> None:
    """Forget every shared reader (tests start each case with a new AWS mock)."""
    _shared.clear()
    _making.clear()

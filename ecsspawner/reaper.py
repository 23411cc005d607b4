"""The orphan reaper: one periodic sweep per hub that stops tasks nobody holds.

The design notes' detector ran inside the spawner, treated every task as an
orphan and killed a live lab after the idle culler ran. Here a task is stopped
only if every one of these holds:
  1. it carries this hub's id tag;
  2. no spawner holds its ARN (loaded spawners and every saved state);
  3. no spawn with its spawn id is in flight or held;
  4. it is older (from createdAt) than start_timeout + margin;
  5. the previous sweep saw it as an orphan too.
A task with this hub's id but another hub's install id (two hubs given the same
hub_id) is never stopped, and is logged as an error. Any error reading ECS or
the database aborts the sweep and resets rule 5. Every decision is logged and
counted. Before all this, each sweep retries the StopTasks that failed for
servers JupyterHub stopped (pending.py).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ecsspawner import aws, metrics
from ecsspawner.holdings import Holdings
from ecsspawner.identity import TAG_HUB, TAG_SPAWN, conflict_message, other_install, tags_of
from ecsspawner.pending import PendingStops
from ecsspawner.reader import TaskReader
from ecsspawner.taskview import age_seconds

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Decision:
    task_arn: str
    # foreign, other-install, held, starting, young, suspect, stopped, would-stop, stop-failed, stop-retried
    decision: str
    detail: str = ""


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class OrphanReaper:
    client: Any
    cluster: str
    hub_id: str
    holdings: Callable[[], Holdings | Awaitable[Holdings]]  # awaitable: read off the loop (read_hub_holdings)
    min_age: float
    dry_run: bool = False
    now: Callable[[], datetime] = _utcnow
    log: logging.Logger = field(default=log, repr=False)  # the hub's logger when a spawner builds the reaper
    install_id: Callable[[], str] = lambda: ""  # this hub's install id (read from its database); "" checks none
    pending: PendingStops = field(default_factory=PendingStops)  # failed StopTasks, retried first
    _suspects: set[str] = field(default_factory=set)

    async def sweep(self) -> list[Decision]:
        """One pass over the cluster's running tasks; returns what was decided for each.

        Everything the sweep reads (ListTasks, DescribeTasks, the hub's database) is read inside
        one error handler: a sweep that cannot read everything stops nothing and forgets every
        suspect, so "orphaned on two consecutive sweeps" never spans a failed sweep.
        """
        retried = await self._retry_pending()
        try:
            arns = await aws.call(self._list_running)
            described = await TaskReader(client=self.client, cluster=self.cluster, log=self.log).describe_now(arns)
            held = await _maybe_await(self.holdings())  # read after listing: a task listed above was launched before
            install = self.install_id()
        except Exception as exc:
            self._suspects.clear()
            metrics.REAPER_DECISIONS.labels("sweep-failed").inc()
            self.log.warning(
                "orphan reaper: sweep of %s aborted (%s); nothing stopped", self.cluster, aws.error_code(exc)
            )
            return retried
        decisions: list[Decision] = list(retried)
        done = {d.task_arn for d in retried}
        suspects: set[str] = set()
        previous, self._suspects = self._suspects, set()  # an error below must not carry suspects over either
        for arn, lookup in described.items():
            if lookup.task is None or arn in done:
                continue  # gone between ListTasks and DescribeTasks, or its pending StopTask was just retried
            decision = self._judge(lookup.task, held, install)
            if decision.decision == "suspect":
                suspects.add(arn)
                if arn in previous:
                    decision = await self._stop(arn, decision.detail)
            decisions.append(decision)
        self._suspects = suspects
        self._record(decisions[len(retried) :])
        return decisions

    def _record(self, decisions: list[Decision]) -> None:
        for d in decisions:
            metrics.REAPER_DECISIONS.labels(d.decision).inc()
            if d.decision == "other-install":
                metrics.HUB_ID_CONFLICTS.labels("reaper").inc()
            level = {"foreign": logging.DEBUG, "other-install": logging.ERROR, "stop-failed": logging.ERROR}
            self.log.log(
                level.get(d.decision, logging.INFO), "orphan reaper: %s %s (%s)", d.decision, d.task_arn, d.detail
            )

    async def _retry_pending(self) -> list[Decision]:
        """StopTask again for every task whose stop failed when JupyterHub stopped its server."""
        decisions = []
        for entry in self.pending.entries():
            try:
                await aws.call(  # botocore retries it; a failure waits for the next sweep
                    self.client.stop_task,
                    cluster=entry.cluster,
                    task=entry.arn,
                    reason=f"JupyterHub {self.hub_id}: {entry.reason} (retried)"[:255],
                )
            except Exception as exc:
                if not aws.is_task_not_found(exc):
                    self.pending.add(entry.arn, entry.cluster, entry.reason, aws.error_code(exc))
                    metrics.STOP_FAILURES.labels("reaper-retry").inc()
                    detail = f"retry of a failed stop ({entry.reason}) failed again: {aws.error_code(exc)}"
                    decisions.append(Decision(entry.arn, "stop-failed", f"{detail}; failure {entry.failures}"))
                    continue
            self.pending.discard(entry.arn)
            decisions.append(
                Decision(entry.arn, "stop-retried", f"{entry.reason}; stopped after {entry.failures} failed")
            )
        self._record(decisions)
        return decisions

    def _judge(self, task: dict, held: Holdings, install: str = "") -> Decision:
        arn = task["taskArn"]
        tags = tags_of(task)
        if tags.get(TAG_HUB) != self.hub_id:
            return Decision(arn, "foreign", f"hub tag {tags.get(TAG_HUB)!r} is not {self.hub_id!r}")
        theirs = other_install(task, self.hub_id, install)
        if theirs is not None:
            return Decision(arn, "other-install", conflict_message(self.hub_id, install, theirs, arn))
        if arn in held.arns:
            return Decision(arn, "held", "a spawner holds this task")
        spawn_id = tags.get(TAG_SPAWN, "")
        if spawn_id and spawn_id in held.spawn_ids:
            return Decision(arn, "starting", f"spawn {spawn_id} is held or in flight")
        # No spawn-id tag: not launched by this spawner's RunTask (which always sets it), so no spawn can be
        # in flight for it; the hub tag makes it this hub's, and the age and two-sweep rules decide as for any.
        what = f"spawn {spawn_id}" if spawn_id else "no spawn-id tag"
        age = age_seconds(task, self.now())
        if age is None or age <= self.min_age:
            return Decision(arn, "young", f"{what}; age {age if age is None else round(age)} s <= {self.min_age:.0f} s")
        return Decision(arn, "suspect", f"held by no spawner, {what}, age {age:.0f} s")

    async def _stop(self, arn: str, detail: str) -> Decision:
        if self.dry_run:
            return Decision(arn, "would-stop", f"dry run; {detail}")
        try:
            await aws.call(  # botocore retries it
                self.client.stop_task,
                cluster=self.cluster,
                task=arn,
                reason=f"JupyterHub {self.hub_id}: orphan (held by no server)",
            )
        except Exception as exc:
            if not aws.is_task_not_found(exc):
                metrics.STOP_FAILURES.labels("reaper").inc()
                return Decision(arn, "stop-failed", f"{aws.error_code(exc)}; {detail}")
        metrics.ORPHANS_STOPPED.inc()
        return Decision(arn, "stopped", f"orphan seen on two sweeps; {detail}")

    def _list_running(self) -> list[str]:
        pages = self.client.get_paginator("list_tasks").paginate(cluster=self.cluster, desiredStatus="RUNNING")
        return [arn for page in pages for arn in page.get("taskArns", [])]


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


_running: dict[str, asyncio.Task] = {}


def ensure_periodic(hub_id: str, reaper_factory: Callable[[], OrphanReaper], interval: float) -> asyncio.Task | None:
    """Start the hub's single sweep loop on the running event loop unless it already runs.

    The reaper (and its boto3 client, which takes a worker thread ~0.1 s to make) is built in a worker thread.
    """
    task = _running.get(hub_id)
    if task is not None and not task.done():
        return task
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None

    async def run() -> None:
        try:
            reaper = await asyncio.to_thread(reaper_factory)
        except Exception:
            log.exception("orphan reaper for hub %s: cannot be built; no sweeps", hub_id)
            return
        reaper.log.info("orphan reaper for hub %s: every %.0f s, dry_run=%s", hub_id, interval, reaper.dry_run)
        while True:
            await asyncio.sleep(interval)
            try:
                await reaper.sweep()
            except Exception:  # never let one bad sweep end the loop
                reaper.log.exception("orphan reaper: unexpected error")

    _running[hub_id] = task = loop.create_task(run(), name=f"ecsspawner-reaper-{hub_id}")
    return task


def stop_periodic() -> None:
    """Cancel every sweep loop (tests, hub shutdown)."""
    for task in _running.values():
        task.cancel()
    _running.clear()

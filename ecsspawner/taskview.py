"""Read a DescribeTasks task dict: phase, private IP, exit code, age.

Pure functions, so poll(), start() and the reaper agree on what a task means.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

PROVISIONING = ("PROVISIONING", "PENDING", "ACTIVATING")
GONE = ("DEACTIVATING", "STOPPING", "DEPROVISIONING", "STOPPED", "DELETED")


def private_ip(task: dict) -> str | None:
    """The awsvpc ENI's private IPv4 address, once ECS has attached it."""
    for attachment in task.get("attachments") or []:
        for detail in attachment.get("details") or []:
            if detail.get("name") == "privateIPv4Address" and detail.get("value"):
                return detail["value"]
    for container in task.get("containers") or []:
        for eni in container.get("networkInterfaces") or []:
            if eni.get("privateIpv4Address"):
                return eni["privateIpv4Address"]
    return None


def is_stopping(task: dict) -> bool:
    """STOPPED, on its way there, or told to stop: the server is gone for the hub."""
    return task.get("lastStatus") in GONE or task.get("desiredStatus") == "STOPPED"


def phase(task: dict) -> str:
    """A user-facing start phase: provisioning, pulling, running or stopped."""
    status = task.get("lastStatus", "")
    if is_stopping(task):
        return "stopped"
    if status == "RUNNING":
        return "running"
    if task.get("pullStartedAt") and not task.get("pullStoppedAt"):
        return "pulling"
    return "provisioning"


def exit_code(task: dict, essential: Iterable[str] | None = None) -> int:
    """The essential container's exit code; 1 if it has none (never started, killed before exit)."""
    names = set(essential) if essential is not None else None
    containers = [c for c in task.get("containers") or [] if names is None or c.get("name") in names]
    codes = [c["exitCode"] for c in containers if c.get("exitCode") is not None]
    failed = [code for code in codes if code != 0]
    if failed:
        return int(failed[0])
    return 0 if codes else 1


def stop_summary(task: dict) -> str:
    """`stopCode: stoppedReason`, for logs and for the error a user sees."""
    code = task.get("stopCode") or "unknown stop code"
    reason = task.get("stoppedReason") or "no reason given"
    return f"{code}: {reason}"


def age_seconds(task: dict, now: datetime) -> float | None:
    """Seconds since createdAt (startedAt is missing for tasks that never started); None if unknown."""
    created = task.get("createdAt")
    if not isinstance(created, datetime):
        return None
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return (now - created).total_seconds()

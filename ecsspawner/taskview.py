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


# Exit codes of a container ECS stopped because another one exited (SIGKILL, SIGTERM): not the cause.
STOPPED_BY_ECS = (137, 143)


def first_stopped(task: dict, essential: Iterable[str] | None = None) -> tuple[str, int] | None:
    """(name, exit code) of the essential container that stopped first, or None if none has a code.

    DescribeTasks gives containers no stop times. When an essential container exits, ECS stops the
    others (they exit 143 on SIGTERM or 137 when killed), so the one that stopped first is the one
    whose code is not such a stop signal, failures before clean exits; file order breaks ties.
    """
    names = set(essential) if essential is not None else None
    containers = [c for c in task.get("containers") or [] if names is None or c.get("name") in names]
    coded = [(str(c.get("name", "?")), int(c["exitCode"])) for c in containers if c.get("exitCode") is not None]
    if not coded:
        return None
    return min(coded, key=lambda nc: (nc[1] in STOPPED_BY_ECS, nc[1] == 0))


def exit_code(task: dict, essential: Iterable[str] | None = None) -> int:
    """The exit code of the essential container that stopped first; 1 if none has one (never started,
    killed before exit)."""
    first = first_stopped(task, essential)
    return first[1] if first is not None else 1


def stopped_container_text(task: dict, essential: Iterable[str] | None = None) -> str:
    """`; container data-agent exited with code 3` for messages, or "" when no container has a code."""
    first = first_stopped(task, essential)
    return f"; container {first[0]} exited with code {first[1]}" if first is not None else ""


def waiting_for(task: dict, depends_on: dict[str, str]) -> str | None:
    """The first container the server waits on (`depends_on`, HEALTHY or START) that is not there yet."""
    by_name = {c.get("name"): c for c in task.get("containers") or []}
    for name, condition in depends_on.items():
        container = by_name.get(name, {})
        if condition == "HEALTHY" and container.get("healthStatus") != "HEALTHY":
            return name
        if condition == "START" and container.get("lastStatus") not in ("RUNNING", "STOPPED"):
            return name
    return None


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

"""Who a task belongs to: the startedBy key, the tags and the per-spawn id.

The reaper and `start()` decide what they may stop from these, so they are
derived in one place: a hash of hub + user + server for `startedBy` (ECS allows
128 of [A-Za-z0-9_/-], names may hold anything), and tags a human can read.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass

TAG_HUB = "jupyterhub:hub-id"
TAG_USER = "jupyterhub:user"
TAG_SERVER = "jupyterhub:server"
TAG_SPAWN = "jupyterhub:spawn-id"
TAG_INSTALL = "jupyterhub:install-id"

HUB_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.:/=+@-]{1,64}$")
_TAG_VALUE_BAD = re.compile(r"[^\w .:/=+@-]", re.UNICODE)
_MAX_TAG_VALUE = 256


def check_hub_id(hub_id: str) -> str | None:
    """Why `hub_id` cannot tag tasks, or None if it can."""
    if not hub_id:
        return "is empty; set c.ECSSpawner.hub_id to a name unique to this hub (the reaper only touches tasks tagged with it)"
    if not HUB_ID_PATTERN.match(hub_id):
        return f"{hub_id!r} must be 1-64 of letters, digits and _ . : / = + @ -"
    return None


def new_spawn_id() -> str:
    """A fresh id for one spawn; also the RunTask clientToken (at most 64 characters)."""
    return uuid.uuid4().hex


def tag_value(text: str) -> str:
    """`text` with characters ECS tags reject replaced by '_', cut to 256."""
    return _TAG_VALUE_BAD.sub("_", text)[:_MAX_TAG_VALUE] or "_"


@dataclass(frozen=True)
class ServerIdentity:
    """One server of one user on one hub."""

    hub_id: str
    user: str
    server: str

    @property
    def started_by(self) -> str:
        """Unique per hub + user + server; ECS filters ListTasks on it exactly."""
        digest = hashlib.sha256("\0".join((self.hub_id, self.user, self.server)).encode()).hexdigest()
        return f"jupyterhub-{digest[:48]}"

    def tags(self, spawn_id: str, install_id: str = "") -> list[dict[str, str]]:
        tags = [
            {"key": TAG_HUB, "value": self.hub_id},
            {"key": TAG_USER, "value": tag_value(self.user)},
            {"key": TAG_SERVER, "value": tag_value(self.server) if self.server else "_default"},
            {"key": TAG_SPAWN, "value": spawn_id},
        ]
        if install_id:
            tags.append({"key": TAG_INSTALL, "value": install_id})
        return tags


def tags_of(task: dict) -> dict[str, str]:
    """A DescribeTasks task's tags as a dict (empty without include=["TAGS"])."""
    return {t["key"]: t.get("value", "") for t in task.get("tags") or []}


def other_install(task: dict, hub_id: str, install_id: str) -> str | None:
    """The install id of a second hub using `hub_id` if `task` is that hub's, else None.

    A task without an install-id tag (launched before install ids existed, or by hand) is not
    another install's: it is judged as this hub's, as before.
    """
    tags = tags_of(task)
    theirs = tags.get(TAG_INSTALL, "")
    if tags.get(TAG_HUB) == hub_id and install_id and theirs and theirs != install_id:
        return theirs
    return None


def conflict_message(hub_id: str, install_id: str, theirs: str, arn: str) -> str:
    """The error an administrator reads when two hubs share a hub_id."""
    return (
        f"hub id {hub_id!r} is used by two hubs: task {arn} carries install id {theirs}, this hub's is "
        f"{install_id}. This hub leaves that task alone (no StopTask, not reaped), but the two hubs share "
        f"startedBy keys and tags: give each hub its own c.ECSSpawner.hub_id (HUB_ID in the example config)"
    )

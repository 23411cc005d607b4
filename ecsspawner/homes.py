"""Per-user EFS homes: one access point and one task definition family per user (see docs/efs.md).

RunTask cannot override volumes, so a user's access point must be named by the task definition
that runs. The synthesized family `<prefix>-<service>-<size>` mounts the file system with no
access point (the task role may mount only through one, so it mounts nothing). For each user the
spawner registers a copy in a family of that user's own, `<synthesized family>-u<digest>`, whose
home volume names the user's access point, and runs it by its exact revision ARN. Nothing is ever
registered in the synthesized family, so its latest revision stays what CDK deployed, and a
family only ever holds revisions that name one user's access point.

Everything here is made on first use and found again afterwards:
- access points: tagged with the hub id, the install id, the user and the user's home key; one
  paginated DescribeAccessPoints per file system fills this process's cache (again after a hub
  restart); CreateAccessPoint sends a ClientToken, so botocore's retries of one call create one;
- task definitions: the user's family's latest revision is reused while it was copied from the
  synthesized revision that is current and names the user's access point; else a new revision.

Nothing is deleted on stop. `remove_user` (called for a deleted user) deletes that user's access
points and deregisters that user's revisions, and logs each; the files stay on the file system.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ecsspawner import aws
from ecsspawner.identity import TAG_HUB, TAG_INSTALL, TAG_USER, tag_value
from hubspec.model import HOME_VOLUME, EfsSpec

TAG_HOME = "jupyterhub:home-key"
TAG_SOURCE = "jupyterhub:source-task-definition"
HOME_ROOT = "/home"
HOME_PERMISSIONS = "0750"
FILE_SYSTEM_ID = re.compile(r"fs-(?:[0-9a-f]{8}|[0-9a-f]{17})\Z")
# What RegisterTaskDefinition takes back from DescribeTaskDefinition (the rest is ECS's bookkeeping).
REGISTER_KEYS = (
    "containerDefinitions",
    "taskRoleArn",
    "executionRoleArn",
    "networkMode",
    "volumes",
    "placementConstraints",
    "requiresCompatibilities",
    "cpu",
    "memory",
    "pidMode",
    "ipcMode",
    "proxyConfiguration",
    "inferenceAccelerators",
    "ephemeralStorage",
    "runtimePlatform",
)


class HomeError(Exception):
    """A per-user home that cannot be prepared for a reason that is not an AWS refusal."""


def _digest(hub_id: str, user: str) -> str:
    return hashlib.sha256(f"{hub_id}\0{user}".encode()).hexdigest()[:16]


def home_key(hub_id: str, user: str) -> str:
    """`<readable name>-<16 hex>`: stable per hub and user name, unique per user (the digest), a valid path name."""
    readable = re.sub(r"[^a-z0-9]+", "-", user.lower()).strip("-")[:32] or "user"
    return f"{readable}-{_digest(hub_id, user)}"


def user_family(family: str, hub_id: str, user: str) -> str:
    """The user's own family for a synthesized family: `<family>-u<16 hex>` (ECS allows 255 characters)."""
    return f"{family}-u{_digest(hub_id, user)}"


def file_system_problem(value: str) -> str | None:
    if FILE_SYSTEM_ID.match(value):
        return None
    return f"{value!r} is not an EFS file system id; expected fs- and 8 or 17 hex digits (the stack's HomeFileSystemId)"


@dataclass(frozen=True)
class UserTaskDefinition:
    arn: str
    access_point_id: str
    source_arn: str


def home_access_point(task_definition: dict) -> str | None:
    """The access point the home volume of a described task definition names (None: no home volume or none)."""
    for volume in task_definition.get("volumes") or []:
        if volume.get("name") == HOME_VOLUME:
            config = (volume.get("efsVolumeConfiguration") or {}).get("authorizationConfig") or {}
            return config.get("accessPointId")
    return None


class UserHomes:
    """This hub's per-user homes on one file system. One instance per hub, file system and cluster region."""

    def __init__(
        self,
        *,
        efs_client: Any,
        ecs_client: Any,
        file_system_id: str,
        hub_id: str,
        prefix: str,
        log: Any,
        definition_ttl: float = 60.0,
    ) -> None:
        self.efs, self.ecs = efs_client, ecs_client
        self.file_system_id, self.hub_id, self.prefix = file_system_id, hub_id, prefix
        self.log = log
        self.definition_ttl = definition_ttl
        self._access_points: dict[str, dict] | None = None  # home key -> access point (this hub's, this file system)
        self._sources: dict[str, tuple[float, dict]] = {}  # synthesized family -> (read at, its latest revision)
        self._user_definitions: dict[str, UserTaskDefinition] = {}  # user family -> what runs
        self._locks: dict[str, asyncio.Lock] = {}

    def _lock(self, key: str) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    # --- access points ----------------------------------------------------

    async def _scan(self) -> dict[str, dict]:
        """This hub's access points on the file system by home key: every page of DescribeAccessPoints."""
        found: dict[str, dict] = {}
        kwargs: dict[str, Any] = {"FileSystemId": self.file_system_id, "MaxResults": 100}
        while True:
            reply = await aws.call(self.efs.describe_access_points, **kwargs)
            for point in reply.get("AccessPoints") or []:
                tags = {t["Key"]: t.get("Value", "") for t in point.get("Tags") or []}
                if (
                    tags.get(TAG_HUB) == self.hub_id
                    and tags.get(TAG_HOME)
                    and point.get("LifeCycleState") != "deleting"
                ):
                    found.setdefault(tags[TAG_HOME], point)
            token = reply.get("NextToken")
            if not token:
                return found
            kwargs["NextToken"] = token

    async def access_point(self, user: str, home: EfsSpec, install_id: str) -> dict:
        """The user's access point: cached, else found by its tags, else created (root /home/<key>, uid/gid)."""
        key = home_key(self.hub_id, user)
        async with self._lock(key):
            if self._access_points is None:
                self._access_points = await self._scan()
            point = self._access_points.get(key)
            if point is not None:
                return point
            uid, gid = str(home.uid), str(home.gid)
            reply = await aws.call(
                self.efs.create_access_point,
                ClientToken=uuid.uuid4().hex,  # one per attempt: botocore's retries of this call reuse it
                FileSystemId=self.file_system_id,
                PosixUser={"Uid": int(uid), "Gid": int(gid)},
                RootDirectory={
                    "Path": f"{HOME_ROOT}/{key}",
                    "CreationInfo": {"OwnerUid": int(uid), "OwnerGid": int(gid), "Permissions": HOME_PERMISSIONS},
                },
                Tags=[
                    {"Key": "Name", "Value": f"{self.hub_id} home of {tag_value(user)}"[:256]},
                    {"Key": TAG_HUB, "Value": self.hub_id},
                    {"Key": TAG_USER, "Value": tag_value(user)},
                    {"Key": TAG_HOME, "Value": key},
                    *([{"Key": TAG_INSTALL, "Value": install_id}] if install_id else []),
                ],
            )
            self.log.info(
                "EFS home of %s: created access point %s (%s/%s on %s)",
                user,
                reply["AccessPointId"],
                HOME_ROOT,
                key,
                self.file_system_id,
            )
            self._access_points[key] = reply
            return reply

    # --- task definitions -------------------------------------------------

    async def _source(self, family: str) -> dict:
        """The synthesized family's latest revision (what CDK deployed), read at most every definition_ttl."""
        cached = self._sources.get(family)
        if cached is not None and time.monotonic() - cached[0] < self.definition_ttl:
            return cached[1]
        reply = await aws.call(self.ecs.describe_task_definition, taskDefinition=family)
        definition = reply["taskDefinition"]
        if not any(v.get("name") == HOME_VOLUME for v in definition.get("volumes") or []):
            raise HomeError(
                f"task definition {definition['taskDefinitionArn']} has no volume {HOME_VOLUME!r}; deploy the "
                "stack synthesized from this catalog (a service with efs gets one)"
            )
        self._sources[family] = (time.monotonic(), definition)
        return definition

    async def task_definition(self, family: str, user: str, access_point_id: str, install_id: str) -> str:
        """The exact revision ARN to run for `user`: a copy of `family` in the user's family naming their access point."""
        source = await self._source(family)
        mine = user_family(family, self.hub_id, user)
        async with self._lock(mine):
            known = self._user_definitions.get(mine)
            if known is None:
                known = await self._latest_user_definition(mine)
            if known is not None and known.source_arn == source["taskDefinitionArn"]:
                if known.access_point_id == access_point_id:
                    self._user_definitions[mine] = known
                    return known.arn
            body = {k: copy.deepcopy(source[k]) for k in REGISTER_KEYS if source.get(k)}
            for volume in body["volumes"]:
                if volume.get("name") == HOME_VOLUME:
                    config = volume.setdefault("efsVolumeConfiguration", {})
                    config.pop("rootDirectory", None)  # with an access point the root is the access point's
                    config["transitEncryption"] = "ENABLED"
                    config["authorizationConfig"] = {"accessPointId": access_point_id, "iam": "ENABLED"}
            tags = [
                {"key": TAG_HUB, "value": self.hub_id},
                {"key": TAG_USER, "value": tag_value(user)},
                {"key": TAG_HOME, "value": home_key(self.hub_id, user)},
                {"key": TAG_SOURCE, "value": source["taskDefinitionArn"]},
                *([{"key": TAG_INSTALL, "value": install_id}] if install_id else []),
            ]
            reply = await aws.call(self.ecs.register_task_definition, family=mine, tags=tags, **body)
            arn = reply["taskDefinition"]["taskDefinitionArn"]
            self.log.info("EFS home of %s: registered %s (from %s)", user, arn, source["taskDefinitionArn"])
            self._user_definitions[mine] = UserTaskDefinition(arn, access_point_id, source["taskDefinitionArn"])
            return arn

    async def _latest_user_definition(self, family: str) -> UserTaskDefinition | None:
        """The user's family's latest ACTIVE revision (after a hub restart), or None if it has none."""
        reply = await aws.call(self.ecs.list_task_definitions, familyPrefix=family, status="ACTIVE", sort="DESC")
        arns = [a for a in reply.get("taskDefinitionArns") or [] if _family_of(a) == family]
        if not arns:
            return None
        described = await aws.call(self.ecs.describe_task_definition, taskDefinition=arns[0], include=["TAGS"])
        tags = {t["key"]: t.get("value", "") for t in described.get("tags") or []}
        definition = described["taskDefinition"]
        return UserTaskDefinition(
            arn=definition["taskDefinitionArn"],
            access_point_id=home_access_point(definition) or "",
            source_arn=tags.get(TAG_SOURCE, ""),
        )

    # --- clean-up ---------------------------------------------------------

    async def remove_user(self, user: str) -> tuple[list[str], list[str]]:
        """Delete `user`'s access points and deregister `user`'s revisions; their files stay. Returns both lists."""
        key = home_key(self.hub_id, user)
        suffix = "-u" + _digest(self.hub_id, user)
        async with self._lock(key):
            points = [
                p["AccessPointId"]
                for p in await self._scan_all()
                if {t["Key"]: t.get("Value", "") for t in p.get("Tags") or []}.get(TAG_HOME) == key
            ]
            for point in points:
                await aws.call(self.efs.delete_access_point, AccessPointId=point)
                self.log.warning(
                    "EFS home of %s: deleted access point %s (files stay on %s)", user, point, self.file_system_id
                )
            if self._access_points is not None:
                self._access_points.pop(key, None)
        revisions: list[str] = []
        for family in await self._families(self.prefix + "-"):
            if not family.endswith(suffix):
                continue
            self._user_definitions.pop(family, None)
            for arn in await self._revisions(family):
                await aws.call(self.ecs.deregister_task_definition, taskDefinition=arn)
                self.log.warning("EFS home of %s: deregistered %s", user, arn)
                revisions.append(arn)
        return points, revisions

    async def _scan_all(self) -> list[dict]:
        """This hub's access points (every user's), read fresh."""
        self._access_points = await self._scan()
        return list(self._access_points.values())

    async def _families(self, prefix: str) -> list[str]:
        out: list[str] = []
        kwargs: dict[str, Any] = {"familyPrefix": prefix, "status": "ACTIVE"}
        while True:
            reply = await aws.call(self.ecs.list_task_definition_families, **kwargs)
            out += reply.get("families") or []
            if not reply.get("nextToken"):
                return out
            kwargs["nextToken"] = reply["nextToken"]

    async def _revisions(self, family: str) -> list[str]:
        out: list[str] = []
        kwargs: dict[str, Any] = {"familyPrefix": family, "status": "ACTIVE"}
        while True:
            reply = await aws.call(self.ecs.list_task_definitions, **kwargs)
            out += [a for a in reply.get("taskDefinitionArns") or [] if _family_of(a) == family]
            if not reply.get("nextToken"):
                return out
            kwargs["nextToken"] = reply["nextToken"]


def _family_of(arn: str) -> str:
    return arn.rsplit("/", 1)[-1].rsplit(":", 1)[0]


_homes: dict[tuple, UserHomes] = {}


def shared_homes(key: tuple, make: Callable[[], UserHomes]) -> UserHomes:
    """One UserHomes per hub, file system, region and cluster: its caches serve every spawner."""
    if key not in _homes:
        _homes[key] = make()
    return _homes[key]


def reset_shared() -> None:
    """Forget every hub's homes (tests: a new hub process)."""
    _homes.clear()

"""A hub in miniature: moto's ECS, jupyterhub's real ORM (in-memory sqlite) and real User objects.

Only `spawn()` below stands in for a piece of JupyterHub: `User.spawn` also
needs OAuth clients and waits for the server's HTTP endpoint, which a moto task
does not have. It keeps the hub's order: clear_state, apply_user_options,
start() under start_timeout, then save get_state() into orm_spawner.state. Stopping uses
JupyterHub's own `User.stop`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.retries import standard
from botocore.stub import Stubber
from jupyterhub import orm
from jupyterhub.objects import Hub
from jupyterhub.user import User, UserDict
from moto import mock_aws
from moto.ecs.models import ecs_backends
from moto.moto_api import state_manager
from traitlets.config import Config

from ecsspawner import ECSSpawner, homes, pending, reader, reaper
from ecsspawner import aws as aws_calls
from ecsspawner import spawner as spawner_module
from tests.catalogs import HUB_CATALOG_SERVICES, HUB_CATALOG_SIZES
from tests.moto_families import register_families

REGION = "us-east-1"
ACCOUNT = "123456789012"
PREFIX = "test-hub"
HUB_ID = "hub-a"


@dataclass
class Aws:
    """moto's ECS: a VPC, every catalog family registered, and a fresh cluster per test."""

    subnet: str
    security_group: str
    cluster: str
    _client: Any
    file_system_id: str = ""
    _efs: Any = None
    PREFIX = PREFIX
    HUB_ID = HUB_ID

    def client(self) -> Any:
        return self._client

    def efs(self) -> Any:
        return self._efs

    def stubbed(self) -> tuple[Any, Stubber]:
        """A real ECS client whose replies a test scripts exactly (errors, throttling, MISSING)."""
        client = boto3.client("ecs", region_name=REGION)
        return client, Stubber(client)

    def scripted(self, operation: str, replies: list[tuple[int, dict]]) -> tuple[Any, list[dict]]:
        """A client as the spawner's default factory makes it (botocore retry mode and all), whose next
        `operation` requests get `replies` (HTTP status, JSON body) as if from ECS, then moto's answers.

        Stubber answers before botocore's retry loop; this answers inside it (before-send), so botocore's
        own retries see each reply. Returns the client and the list of request bodies sent.
        """
        client = aws_calls.make_client(REGION, max_attempts=5)
        sent: list[dict] = []
        queue = list(replies)
        urls: list[str] = []

        def reply(request: Any, **_: Any) -> AWSResponse | None:
            target = request.headers.get("X-Amz-Target", b"")
            if (target.decode() if isinstance(target, bytes) else target).rpartition(".")[2] != operation:
                return None
            sent.append(json.loads(request.body or b"{}"))
            if request.url == _PASS:  # botocore retries the same request object: give moto its URL back
                request.url = urls.pop()
            if not queue:
                return None  # on to moto
            status, body = queue.pop(0)
            urls.append(request.url)
            request.url = _PASS  # moto's handler, which runs too, passes on this URL: the reply is ours
            return AWSResponse(urls[-1], status, {}, _Raw(json.dumps(body).encode()))

        client.meta.events.register_first("before-send", reply)  # ahead of moto's own before-send handler
        return client, sent

    @property
    def backend(self) -> Any:
        return ecs_backends[ACCOUNT][REGION]

    def task(self, arn: str) -> Any:
        """moto's task object: where tests set what moto does not model (createdAt, health, stop codes)."""
        return self.backend.tasks[self.cluster][arn]

    def tasks(self) -> dict[str, Any]:
        return dict(self.backend.tasks.get(self.cluster, {}))

    def running(self) -> set[str]:
        return {arn for arn, t in self.tasks().items() if t.last_status == "RUNNING" and t.desired_status == "RUNNING"}

    def age(self, arn: str, seconds: float) -> None:
        self.task(arn).created_at = datetime.now(UTC) - timedelta(seconds=seconds)

    def stop_behind_hubs_back(
        self, arn: str, exit_code: int, reason: str = "Essential container in task exited"
    ) -> None:
        task = self.task(arn)
        task.last_status = task.desired_status = "STOPPED"
        task.stop_code, task.stopped_reason = "EssentialContainerExited", reason
        task.containers[0].exitCode = exit_code


_PASS = "http://127.0.0.1:9/scripted"  # never sent: a scripted reply answers first


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


def ecs_error(code: str, message: str = "") -> dict:
    """An ECS JSON error body, as botocore parses it."""
    return {"__type": code, "message": message}


@pytest.fixture(autouse=True)
def _no_botocore_sleep(monkeypatch):
    """botocore's retry backoff, without the wait (tests check which calls are retried, not how long)."""
    waits: list[float] = []

    real = standard.ExponentialBackoff.delay_amount

    def delay_amount(self: Any, context: Any) -> float:
        waits.append(real(self, context))
        return 0.0

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", delay_amount)
    return waits


@pytest.fixture(scope="session")
def _moto():
    """One mock for the whole session: moto's EC2 set-up costs seconds, clusters cost nothing (each test gets its own)."""
    state_manager.set_transition("ecs::task", {"progression": "manual", "times": 10**9})
    with mock_aws():
        ec2 = boto3.client("ec2", region_name=REGION)
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/17")["Subnet"]["SubnetId"]
        sg = ec2.create_security_group(GroupName="tasks", Description="tasks", VpcId=vpc)["GroupId"]
        ecs = boto3.client("ecs", region_name=REGION)
        efs = boto3.client("efs", region_name=REGION)
        file_system = efs.create_file_system(CreationToken="homes", Encrypted=True)["FileSystemId"]
        register_families(ecs, PREFIX, file_system)
        yield subnet, sg, ecs, efs, file_system
    state_manager.unset_transition("ecs::task")


_clusters = itertools.count()


@pytest.fixture
def aws(_moto):
    subnet, sg, ecs, efs, file_system = _moto
    cluster = f"hub-cluster-{next(_clusters)}"
    ecs.create_cluster(clusterName=cluster)
    return Aws(subnet=subnet, security_group=sg, cluster=cluster, _client=ecs, file_system_id=file_system, _efs=efs)


@pytest.fixture(autouse=True)
def _fresh_hub_globals():
    """Readers, in-flight registries and reaper loops are per process; tests each get new ones."""
    reader.reset_shared()
    homes.reset_shared()
    spawner_module._in_flight.clear()
    pending.reset()
    yield
    reaper.stop_periodic()
    reader.reset_shared()
    homes.reset_shared()
    spawner_module._in_flight.clear()
    pending.reset()


def spawner_config(aws: Aws, client_factory: Any = None, **overrides: Any) -> Config:
    c = Config()
    c.ECSSpawner.cluster = aws.cluster
    c.ECSSpawner.subnets = [aws.subnet]
    c.ECSSpawner.security_groups = [aws.security_group]
    c.ECSSpawner.prefix = PREFIX
    c.ECSSpawner.hub_id = HUB_ID
    c.ECSSpawner.services_dir = str(HUB_CATALOG_SERVICES)
    c.ECSSpawner.sizes_file = str(HUB_CATALOG_SIZES)
    c.ECSSpawner.region = REGION
    shared_client = aws.client()
    c.ECSSpawner.client_factory = client_factory or (lambda: shared_client)  # a function: Config deep-copies values
    shared_efs = aws.efs()
    c.ECSSpawner.efs_client_factory = lambda: shared_efs
    c.ECSSpawner.efs_file_system_id = aws.file_system_id
    c.ECSSpawner.start_poll_interval = 0.01
    c.ECSSpawner.retry_backoff = 0.001
    c.ECSSpawner.reaper_interval = 0  # tests run sweeps themselves
    c.ECSSpawner.start_timeout = 60
    for key, value in overrides.items():
        setattr(c.ECSSpawner, key, value)
    return c


@dataclass
class MiniHub:
    """The parts of a hub a spawner touches: ORM session, UserDict, settings."""

    db: Any
    users: Any
    settings: dict
    loaded: dict[str, User] = field(default_factory=dict)

    def user(self, name: str) -> User:
        orm_user = self.db.query(orm.User).filter_by(name=name).first()
        if orm_user is None:
            orm_user = orm.User(name=name)
            self.db.add(orm_user)
            self.db.commit()
        return self.users[orm_user]

    def spawner(self, user: User, server: str = "") -> ECSSpawner:
        return user.get_or_create_spawner(server, server)

    async def spawn(self, user: User, server: str = "", options: dict | None = None) -> ECSSpawner:
        """User.spawn's bookkeeping around start(): server row, user_options, clear_state, timeout, save state."""
        spawner = self.spawner(user, server)
        base_url = f"/user/{user.name}/{server + '/' if server else ''}"
        orm_server = orm.Server(base_url=base_url)
        self.db.add(orm_server)
        self.db.commit()
        from jupyterhub.objects import Server

        spawner.server = Server(orm_server=orm_server)
        spawner.user_options = options or {}
        spawner.clear_state()
        await spawner._run_apply_user_options(spawner.user_options)  # as User.spawn does, before start()
        spawner._spawn_pending = True
        try:
            await asyncio.wait_for(spawner.start(), timeout=spawner.start_timeout)
        finally:
            spawner._spawn_pending = False
        spawner.orm_spawner.state = spawner.get_state()
        self.db.commit()
        return spawner

    def restart(self) -> MiniHub:
        """A new hub process on the same database: nothing loaded, state only in orm_spawner.state."""
        return make_hub(self.db, self.settings["config"])


def make_hub(db: Any, config: Config) -> MiniHub:
    settings: dict = {
        "hub": Hub(base_url="/hub/", ip="10.0.0.5", port=8081),  # a real IP: no gethostname()
        "spawner_class": ECSSpawner,
        "config": config,
        "allow_named_servers": True,
        "base_url": "/",
    }
    users = UserDict(db_factory=lambda: db, settings=settings)
    settings["users"] = users
    return MiniHub(db=db, users=users, settings=settings)


@pytest.fixture
def hub_with(aws):
    """A MiniHub whose spawners get these ECSSpawner config overrides."""

    def build(**overrides: Any) -> MiniHub:
        db = orm.new_session_factory("sqlite:///:memory:")()
        return make_hub(db, spawner_config(aws, **overrides))

    return build


@pytest.fixture
def hub(hub_with):
    return hub_with()

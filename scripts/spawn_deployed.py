"""`make deploy-local`, the spawner step: the real ECSSpawner starts a server of each service from the deployed families.

Runs in the deploy script's process, against moto's server there (moto.server.ThreadedMotoServer on 127.0.0.1),
with a JupyterHub in miniature around the spawner (jupyterhub's ORM in memory, its User objects; no proxy,
no HTTP hub). What stands in for AWS, each named in the output:

- MOTO_CFN_WORKAROUND: moto's CloudFormation drops NetworkMode, Cpu, RequiresCompatibilities and the roles
  of AWS::ECS::TaskDefinition (without awsvpc its tasks get no address) and misspells the EFS volume's keys
  (CloudFormation's EFSVolumeConfiguration, FilesystemId and IAM camel-cased). A patch passes them on as
  CloudFormation does (patch_moto_cfn_task_definition).
- MOTO_MEMORY_WORKAROUND: moto 5.2.5's RunTask adds up every container's own `memory` and fails with an
  HTTP 500 (TypeError) when a container has none; Fargate allows that (the deployed definitions set memory
  per task). This patch of moto's ECS backend counts such a container as 0 MiB in moto's placement arithmetic
  (which Fargate tasks do not use). The deployed templates and task definitions are not changed.
- FARGATE_AGENT_STANDIN: moto never runs a container, so a thread does what Fargate's agent reports once
  the checks pass: the task HEALTHY, every container of the definition listed (moto lists only the first)
  and HEALTHY, and a creation time.
- Tasks get moto's fake 10.x addresses. The hub side must never connect to them: the spawner's start()
  answer is mapped to a stand-in single-user server on 127.0.0.1, which the hub side then reaches; the
  step checks that every task address was private and that the stand-in answered each server.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import io
import ipaddress
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

MOTO_MEMORY_WORKAROUND = "moto-run-task-memory-per-task"
MOTO_CFN_WORKAROUND = "moto-cfn-task-definition-properties"
# What moto 5.2.5's CloudFormation drops from AWS::ECS::TaskDefinition (it passes on only family, containers,
# volumes and memory), as register_task_definition's keyword for each.
CFN_TASK_DEFINITION_PROPERTIES = {
    "NetworkMode": "network_mode",
    "Cpu": "cpu",
    "RequiresCompatibilities": "requires_compatibilities",
    "TaskRoleArn": "task_role_arn",
    "ExecutionRoleArn": "execution_role_arn",
}
FARGATE_AGENT_STANDIN = "fargate-agent-stand-in"
HUB_ID = "deploy-local"
MEMORY_KEYS = ("memory", "memoryReservation", "Memory", "MemoryReservation")


class SpawnCheckError(Exception):
    """One readable sentence: what the spawner step found wrong."""


def patch_moto_task_memory() -> None:
    """MOTO_MEMORY_WORKAROUND (see the module's docstring); idempotent."""
    from moto.ecs.models import EC2ContainerServiceBackend

    real = EC2ContainerServiceBackend._calculate_task_resource_requirements
    if getattr(real, "deploy_local_patch", False):
        return

    def requirements(task_definition: Any) -> dict[str, Any]:
        counted = copy.copy(task_definition)
        counted.container_definitions = [
            c if any(k in c for k in MEMORY_KEYS) else {**c, "memory": 0} for c in task_definition.container_definitions
        ]
        return real(counted)

    requirements.deploy_local_patch = True  # type: ignore[attr-defined]
    EC2ContainerServiceBackend._calculate_task_resource_requirements = staticmethod(requirements)  # type: ignore[method-assign]


def patch_moto_cfn_task_definition() -> None:
    """MOTO_CFN_WORKAROUND: moto's CloudFormation registers an AWS::ECS::TaskDefinition with the template's family,
    containers, volumes and memory only; without NetworkMode awsvpc its tasks get no network attachment (no
    address for the spawner) and the cpu is lost. This passes the template's other properties on as well,
    as CloudFormation does; the templates themselves are not changed. Idempotent."""
    from moto.ecs import models

    real = models.EC2ContainerServiceBackend.register_task_definition
    if getattr(real, "deploy_local_patch", False):
        return
    creating = threading.local()
    real_create = models.TaskDefinition.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kw: Any):
        creating.properties = cloudformation_json.get("Properties", {})
        try:
            return real_create(cls, resource_name, cloudformation_json, account_id, region_name, **kw)
        finally:
            creating.properties = None

    def register(self: Any, family: str, container_definitions: Any, **kwargs: Any) -> Any:
        properties = getattr(creating, "properties", None) or {}
        for key, keyword in CFN_TASK_DEFINITION_PROPERTIES.items():
            if key in properties and kwargs.get(keyword) is None:
                kwargs[keyword] = properties[key]
        if properties:
            kwargs["volumes"] = [_api_volume(v) for v in kwargs.get("volumes") or []]
        return real(self, family, container_definitions, **kwargs)

    register.deploy_local_patch = True  # type: ignore[attr-defined]
    models.TaskDefinition.create_from_cloudformation_json = classmethod(create)  # type: ignore[method-assign,assignment]
    models.EC2ContainerServiceBackend.register_task_definition = register  # type: ignore[method-assign]


def _api_volume(volume: dict[str, Any]) -> dict[str, Any]:
    """A volume as moto's CloudFormation camel-cased it, with the EFS keys the ECS API spells differently
    (CloudFormation's `EFSVolumeConfiguration`, `FilesystemId` and `IAM` are the API's `efsVolumeConfiguration`,
    `fileSystemId` and `iam`)."""
    volume = dict(volume)
    efs = dict(volume.pop("eFSVolumeConfiguration", None) or volume.get("efsVolumeConfiguration") or {})
    if not efs:
        return volume
    if "filesystemId" in efs:
        efs["fileSystemId"] = efs.pop("filesystemId")
    auth = dict(efs.get("authorizationConfig") or {})
    if "iAM" in auth:
        auth["iam"] = auth.pop("iAM")
    if auth:
        efs["authorizationConfig"] = auth
    return {**volume, "efsVolumeConfiguration": efs}


@contextlib.contextmanager
def moto_in_process(port: int, log_file: Path) -> Iterator[str]:
    """moto's server in this process on 127.0.0.1:`port` (patched, tasks frozen once RUNNING); the endpoint.

    What moto's server logs (its request lines, the tracebacks of requests it cannot answer, its warnings
    about resources its CloudFormation does not model) goes to `log_file`, as a separate server's log would."""
    import logging

    from moto.moto_api import state_manager
    from moto.server import ThreadedMotoServer

    handler = logging.FileHandler(log_file)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    logging.captureWarnings(True)
    quiet = ("werkzeug", "py.warnings", "moto")
    for name in quiet:
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.propagate = False
    patch_moto_task_memory()
    patch_moto_cfn_task_definition()
    # moto otherwise moves a task RUNNING -> DEACTIVATING -> STOPPED on successive DescribeTasks calls
    state_manager.set_transition("ecs::task", {"progression": "manual", "times": 10**9})
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
        state_manager.unset_transition("ecs::task")
        logging.captureWarnings(False)
        for name in quiet:
            logging.getLogger(name).removeHandler(handler)
            logging.getLogger(name).propagate = True
        handler.close()


class FargateAgentStandIn(threading.Thread):
    """FARGATE_AGENT_STANDIN (see the module's docstring)."""

    def __init__(self, account: str, region: str) -> None:
        super().__init__(daemon=True)
        self.account, self.region = account, region
        self.done = threading.Event()

    def run(self) -> None:
        from moto.ecs.models import ecs_backends

        while not self.done.is_set():
            backend = ecs_backends[self.account][self.region]
            for tasks in list(backend.tasks.values()):
                for task in list(tasks.values()):
                    if task.last_status == "RUNNING" and getattr(task, "health_status", None) is None:
                        definition = backend.describe_task_definition(task.task_definition_arn)
                        self._report_healthy(task, definition.container_definitions)
            time.sleep(0.05)

    @staticmethod
    def _report_healthy(task: Any, definitions: list[dict[str, Any]]) -> None:
        task.created_at = getattr(task, "created_at", None) or datetime.now(UTC)
        first = task.containers[0]
        containers = []
        for definition in definitions:
            container = copy.copy(first)
            # moto keeps CloudFormation's capitalised keys on definitions it created from a template
            container.name = definition.get("name", definition.get("Name"))
            container.image = definition.get("image", definition.get("Image"))
            container.last_status, container.health_status = "RUNNING", "HEALTHY"
            containers.append(container)
        task.containers = containers
        task.health_status = "HEALTHY"


class StandInServer:
    """The single-user server the hub side reaches instead of a task's private address."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        seen = self.paths

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"stand-in single-user server\n")

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.httpd.server_address[1])
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> StandInServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def loopback_spawner_class(standin_port: int, started: list[dict[str, Any]]) -> type:
    """ECSSpawner whose start() answer (the task's private address) is recorded and replaced by the stand-in's."""
    from ecsspawner import ECSSpawner

    class LoopbackECSSpawner(ECSSpawner):
        async def start(self) -> tuple[str, int]:
            task_ip, task_port = await super().start()
            started.append({"user": self.user.name, "task": (task_ip, task_port), "arn": self.task_arn})
            return "127.0.0.1", standin_port

    return LoopbackECSSpawner


@dataclass(frozen=True)
class Target:
    """Where the servers start: the deployed account in moto, and the network made for the tasks."""

    services_dir: str
    sizes_file: str
    prefix: str
    cluster: str
    region: str
    account: str
    subnet: str
    security_group: str
    file_system_id: str  # the shared stack's output HomeFileSystemId ("" without EFS homes)


def spawn_each_service(catalog: Any, target: Target) -> list[str]:
    """Start, reach (through the stand-in) and stop one server per service; one line per server."""
    return asyncio.run(_spawn_each_service(catalog, target))


async def _spawn_each_service(catalog: Any, target: Target) -> list[str]:
    agent = FargateAgentStandIn(target.account, target.region)
    agent.start()
    started: list[dict[str, Any]] = []
    lines: list[str] = []
    try:
        with connections() as connected:
            lines = await _start_and_stop(catalog, target, started)
        task_ips = {record["task"][0] for record in started}
        if reached := task_ips & set(connected):
            raise SpawnCheckError(f"this process connected to task addresses {sorted(reached)}")
        lines.append(
            f"this process made {len(connected)} connections, to {', '.join(sorted(set(connected)))} only; "
            f"none to the {len(task_ips)} task addresses"
        )
    finally:
        agent.done.set()
        agent.join(timeout=5)
        from ecsspawner import homes, reader

        reader.reset_shared()
        homes.reset_shared()
    return lines


@contextlib.contextmanager
def connections() -> Iterator[list[str]]:
    """The host of every socket connect() made in this process meanwhile (boto3, urllib, asyncio all use it)."""
    hosts: list[str] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def connect(sock: socket.socket, address: Any) -> Any:
        hosts.append(str(address[0] if isinstance(address, tuple) else address))
        return real_connect(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> Any:
        hosts.append(str(address[0] if isinstance(address, tuple) else address))
        return real_connect_ex(sock, address)

    socket.socket.connect, socket.socket.connect_ex = connect, connect_ex  # type: ignore[method-assign]
    try:
        yield hosts
    finally:
        socket.socket.connect, socket.socket.connect_ex = real_connect, real_connect_ex  # type: ignore[method-assign]


async def _start_and_stop(catalog: Any, target: Target, started: list[dict[str, Any]]) -> list[str]:
    from jupyterhub import orm
    from jupyterhub.objects import Hub, Server
    from jupyterhub.spawner import SpawnException
    from jupyterhub.user import UserDict
    from traitlets.config import Config

    lines: list[str] = []
    with StandInServer() as standin:
        c = Config()
        c.ECSSpawner.cluster = target.cluster
        c.ECSSpawner.subnets = [target.subnet]
        c.ECSSpawner.security_groups = [target.security_group]
        c.ECSSpawner.prefix = target.prefix
        c.ECSSpawner.hub_id = HUB_ID
        c.ECSSpawner.services_dir = target.services_dir
        c.ECSSpawner.sizes_file = target.sizes_file
        c.ECSSpawner.region = target.region
        c.ECSSpawner.efs_file_system_id = target.file_system_id
        c.ECSSpawner.start_poll_interval = 0.1
        c.ECSSpawner.reaper_interval = 0
        c.ECSSpawner.start_timeout = 30
        with contextlib.redirect_stderr(io.StringIO()):  # alembic's own logging set-up and its lines
            db = orm.new_session_factory("sqlite:///:memory:")()
        hub_settings: dict[str, Any] = {
            "hub": Hub(base_url="/hub/", ip="127.0.0.1", port=8081),
            "spawner_class": loopback_spawner_class(standin.port, started),
            "config": c,
            "base_url": "/",
        }
        users = UserDict(db_factory=lambda: db, settings=hub_settings)
        hub_settings["users"] = users
        for spec in catalog.services:
            orm_user = orm.User(name=f"deploy-{spec.name}")
            db.add(orm_user)
            db.commit()
            user = users[orm_user]
            spawner = user.get_or_create_spawner("", "")
            orm_server = orm.Server(base_url=f"/user/{user.name}/")
            db.add(orm_server)
            db.commit()
            spawner.server = Server(orm_server=orm_server)
            spawner.user_options = {"service": spec.name}
            spawner.clear_state()
            await spawner._run_apply_user_options(spawner.user_options)
            try:
                ip, port = await asyncio.wait_for(spawner.start(), timeout=spawner.start_timeout)
            except SpawnException as err:
                raise SpawnCheckError(f"{spec.name}: {err}") from None
            record = started[-1]
            task_ip = record["task"][0]
            if not ipaddress.ip_address(task_ip).is_private or ipaddress.ip_address(task_ip).is_loopback:
                raise SpawnCheckError(f"{spec.name}: the task's address {task_ip} is not a private task address")
            if ip != "127.0.0.1":
                raise SpawnCheckError(f"{spec.name}: the hub side was given {ip}, not the stand-in on 127.0.0.1")
            url = f"http://127.0.0.1:{port}/user/{user.name}/api"
            reached = await asyncio.to_thread(_get, url)
            if reached != 200:
                raise SpawnCheckError(f"{spec.name}: the stand-in answered {reached}")
            task = await _task(spawner, record["arn"])
            family = task.get("taskDefinitionArn", "?").rsplit("/", 1)[-1]
            await spawner.stop()
            desired = (await _task(spawner, record["arn"])).get("desiredStatus")
            if desired != "STOPPED":
                raise SpawnCheckError(f"{spec.name}: after stop() the task's desired status is {desired}")
            home = f" (home on {target.file_system_id})" if spec.efs is not None and spec.efs.per_user else ""
            lines.append(
                f"{spec.name}: {family}{home}, task at {task_ip}:{record['task'][1]} -> the hub side reached the "
                f"stand-in at 127.0.0.1:{port}; stop() -> desiredStatus STOPPED"
            )
        if len(standin.paths) != len(catalog.services):
            raise SpawnCheckError(f"the stand-in was reached {len(standin.paths)} times, not once per service")
    return lines


def _get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=5) as reply:
        return int(reply.status)


async def _task(spawner: Any, arn: str) -> dict[str, Any]:
    """DescribeTasks of `arn`, fresh (through the spawner's own reader)."""
    lookup = await spawner.reader.get(arn, max_age=0)
    return lookup.task or {}

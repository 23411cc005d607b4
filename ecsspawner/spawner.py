"""ECSSpawner: one Fargate task per JupyterHub server.

How the design notes' two bugs are ruled out here:
- `poll()` has one straight path: no state -> 0 with no side effects; otherwise
  one (batched) DescribeTasks lookup whose STOPPED / MISSING / UNHEALTHY answer
  always reaches the hub. No discovery, no killing of other tasks.
- Orphans are not judged here at all: the hub-wide reaper (reaper.py) does that
  from every spawner's state, loaded or only in the database.
"""

from __future__ import annotations

import asyncio
import functools
import os
import sys
import time
from collections.abc import AsyncIterator
from collections.abc import Callable as CallableType
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from jupyterhub.spawner import Spawner, SpawnException
from tornado import web
from traitlets import Bool, Callable, Dict, Enum, Float, Int, List, TraitError, Unicode, default, validate

from ecsspawner import (
    aws,
    bootstrap,
    capacity,
    homes,
    hubstart,
    install,
    metrics,
    options,
    overrides,
    reaper,
    records,
    taskview,
)
from ecsspawner.healthtime import check_summary, worst_time_to_healthy
from ecsspawner.holdings import InFlight, read_hub_holdings
from ecsspawner.identity import (
    TAG_HUB,
    ServerIdentity,
    check_hub_id,
    conflict_message,
    new_spawn_id,
    other_install,
    tags_of,
)
from ecsspawner.pending import pending_stops_for
from ecsspawner.reader import TaskReader, existing_reader, open_shared_reader, shared_reader
from ecsspawner.state import TaskState
from hubspec import Catalog, load_catalog
from hubspec.errors import SpecErrors
from hubspec.location import SERVICES_DIR_ENV, SIZES_FILE_ENV, CatalogLocationError, catalog_location
from hubspec.naming import check_prefix

_in_flight: dict[str, InFlight] = {}
_background: set[asyncio.Future] = set()


@functools.cache
def boto3_ecs_factory(region: str | None, max_attempts: int = 5, mode: str = "standard") -> CallableType[[], Any]:
    """One factory object per region and retry setting, so every spawner of a hub maps to the same shared reader.

    Its clients retry with botocore's own retry mode (aws.client_config). Calling it blocks: the spawner
    calls it in a worker thread.
    """
    return functools.partial(aws.make_client, region, max_attempts=max_attempts, mode=mode)


def in_flight_for(hub_id: str) -> InFlight:
    """The hub-wide registry of spawns whose RunTask may not be recorded anywhere yet."""
    return _in_flight.setdefault(hub_id, InFlight())


class ECSSpawner(Spawner):
    """Launch `<prefix>-<service>-<size>` on ECS Fargate with RunTask; track it by ARN."""

    cluster = Unicode(help="ECS cluster name or ARN the tasks run in.").tag(config=True)
    subnets = List(Unicode(), help="Subnet ids for the tasks' awsvpc network interface.").tag(config=True)
    security_groups = List(Unicode(), help="Security group ids for the tasks.").tag(config=True)
    assign_public_ip = Bool(False, help="Give tasks a public IP (only for public subnets without NAT).").tag(
        config=True
    )
    prefix = Unicode(
        help="Task definition family prefix, as in the CDK app's context (`<prefix>-<service>-<size>`)."
    ).tag(config=True)
    hub_id = Unicode(help="Name unique to this hub; tags every task. The reaper only touches tasks with this tag.").tag(
        config=True
    )
    region = Unicode(None, allow_none=True, help="AWS region (default: boto3's).").tag(config=True)
    platform_version = Unicode("LATEST", help="Fargate platform version.").tag(config=True)
    capacity_provider_strategy = Dict(
        help="""Fargate Spot or on-demand, chosen by the administrator per service, per size, or for all.

        Keys: "<service>:<size>" (most specific), "<service>", or "*" (everything else); values: RunTask's
        capacityProviderStrategy items, e.g. {"lab": [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]} or
        {"*": [{"capacityProvider": "FARGATE", "base": 0, "weight": 1},
               {"capacityProvider": "FARGATE_SPOT", "weight": 3}]}.
        Providers: FARGATE and FARGATE_SPOT; the cluster must have them (the CDK app's create_cluster does).
        A server without an entry runs with launchType FARGATE (RunTask takes one or the other, never both).
        Users do not choose: Spot costs less but AWS may reclaim a task with two minutes' notice, which
        stops the server (reported to the user as a Spot interruption); a choice an administrator
        makes per service, e.g. Spot for short-lived chat servers, on-demand for long lab sessions.""",
    ).tag(config=True)
    services_dir = Unicode(
        help=f"""Folder of the service YAML files the CDK app synthesized the task definitions from
        (the same catalog, so the form offers exactly the families that exist).
        Default: the environment variable {SERVICES_DIR_ENV}. Required: there is no built-in catalog.""",
    ).tag(config=True)
    sizes_file = Unicode(
        help=f"""The sizes YAML file of the same catalog. Default: the environment variable {SIZES_FILE_ENV}.
        Required.""",
    ).tag(config=True)
    default_service = Unicode("lab", help="Service started when user_options name none.").tag(config=True)
    container_name = Unicode(
        "", help="Container that gets the hub's environment; default: the first essential one."
    ).tag(config=True)
    client_factory = Callable(
        help="""Zero-argument callable returning a boto3 ECS client (tests inject moto's).

        Called in a worker thread, once per hub, region and cluster (and once for the reaper). The default
        makes clients whose botocore retry mode is `retry_mode` with `stop_attempts` attempts; a client
        you supply retries as its own botocore Config says (give it `ecsspawner.aws.client_config(...)`).""",
    ).tag(config=True)
    start_poll_interval = Float(2.0, help="Seconds between task reads while starting.").tag(config=True)
    start_deadline_margin = Float(
        3.0,
        help="""Seconds before start_timeout at which start() gives up by itself.

        JupyterHub cancels start() when start_timeout runs out and then shows the user an
        empty "Spawn failed: ". Giving up a little earlier lets the spawner stop the task and
        say why: the task's last status, or the last health status with the service's check
        and the simulated time by which it should have turned HEALTHY. At most a quarter of
        start_timeout; 0 turns it off.""",
    ).tag(config=True)
    describe_cache_ttl = Float(5.0, help="Seconds a DescribeTasks answer serves poll() for every server.").tag(
        config=True
    )
    missing_grace = Float(
        60.0, help="Seconds after RunTask during which an unknown (MISSING) task counts as starting."
    ).tag(config=True)
    stop_attempts = Int(
        5,
        help="""Attempts per ECS call: botocore's `max_attempts` on the default client (every call, not only StopTask).

        botocore retries throttling (ThrottlingException ...), transient codes, HTTP 5xx and connection
        errors itself, in a worker thread, with exponential backoff and full jitter (a random wait of up
        to 1, 2, 4 ... s after throttling, 0.05, 0.1, 0.2 ... s after other errors, at most 20 s), and stops
        early when its per-client retry quota runs out (many calls failing at once). A StopTask that still
        fails is counted and left to the reaper, which retries it every sweep; RunTask is retried by
        start() (retry_backoff); a poll that fails keeps the server and asks again next round.""",
    ).tag(config=True)
    retry_mode = Enum(
        list(aws.RETRY_MODES),
        "standard",
        help="""botocore retry mode of the default client: "standard" or "adaptive".

        "adaptive" adds botocore's client-side rate limiter: once ECS throttles any call, every call of
        that client (polls and stops too, one client per hub and cluster) waits for a token. benchmarks/
        spawn_load.py measures both.""",
    ).tag(config=True)
    retry_backoff = Float(
        1.0,
        help="""First (largest random) wait of start()'s own RunTask retry, in seconds.

        RunTask is the call a spawn cannot do without: when botocore's retries end in throttling or another
        transient error, start() tries again with JupyterHub's exponential_backoff (random waits between 0
        and retry_backoff, 2x, 4x ..., at most 5 s; the event loop sleeps, no thread is held) until
        start_timeout is about to run out, and then reports the last error. Every attempt sends the same
        clientToken (the spawn id), so ECS starts at most one task per spawn.""",
    ).tag(config=True)
    reaper_interval = Float(300.0, help="Seconds between orphan sweeps; 0 disables the reaper.").tag(config=True)
    reaper_margin = Float(120.0, help="A task must be older than start_timeout + this to be reaped.").tag(config=True)
    reaper_dry_run = Bool(False, help="Log and count what the reaper would stop, stop nothing.").tag(config=True)
    token_bootstrap = Bool(
        True,
        help="""Send the server a single-use bootstrap code instead of its hub API token.

        RunTask's overrides are readable with ecs:DescribeTasks (and land in CloudTrail and
        EventBridge). With this on, the token (and any variable holding it) stays out of them;
        ECSSPAWNER_BOOTSTRAP_CODE goes in, which the image's launcher (ecsspawner/bootstrap_client.py)
        exchanges once at <JUPYTERHUB_API_URL>/ecsspawner/bootstrap. Needs
        c.JupyterHub.extra_handlers = ecsspawner.bootstrap.handlers() and the launcher in every image.
        Off: the token travels in the overrides, as with other ECS spawners.""",
    ).tag(config=True)
    spawn_record_file = Unicode(
        "",
        help="""File to which each spawn's record is appended as one JSON line (empty: the hub log only).

        Every spawn logs one record (service, size, time to RUNNING and to HEALTHY, outcome, stop code
        and reason; see ecsspawner/records.py). `hubspec tune --samples FILE` and `hubspec observed FILE`
        read this file.""",
    ).tag(config=True)

    efs_file_system_id = Unicode(
        "",
        help="""EFS file system of the per-user homes (the stack's output HomeFileSystemId).

        Needed when a service declares `efs: {per_user: true}`: each user gets an access point of their own and
        a task definition family of their own that names it (docs/efs.md).""",
    ).tag(config=True)
    efs_client_factory = Callable(
        help="""Zero-argument callable returning a boto3 EFS client (tests inject moto's); called in a worker
        thread once per hub. The default retries as the ECS client does (retry_mode, stop_attempts).""",
    ).tag(config=True)
    efs_cleanup_on_delete = Bool(
        True,
        help="""When JupyterHub deletes a user, delete that user's EFS access point(s) and deregister that
        user's task definition revisions (logged). Their files stay on the file system. False: keep both.""",
    ).tag(config=True)
    task_definition_cache_ttl = Float(
        60.0,
        help="""Seconds a synthesized family's latest revision is reused for per-user copies before it is
        read again (after a `cdk deploy`, users get the new revision within this time).""",
    ).tag(config=True)

    task_arn: str = ""
    task_cluster: str = ""
    spawn_id: str = ""
    launched_at: float = 0.0
    install_id: str = ""  # this hub's install id (install.py), read at start()
    _run_future: asyncio.Future | None = None
    _spawn_record: records.SpawnRecorder

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A hub configured with a subclass (`c.JupyterHub.spawner_class = "mymodule.MySpawner"`) defines it
        while loading its config: that is when the hub-start watcher can attach (see hubstart)."""
        super().__init_subclass__(**kwargs)
        hubstart.watch_hub()

    @default("services_dir")
    def _default_services_dir(self) -> str:
        return os.environ.get(SERVICES_DIR_ENV, "")

    @default("sizes_file")
    def _default_sizes_file(self) -> str:
        return os.environ.get(SIZES_FILE_ENV, "")

    @default("client_factory")
    def _default_client_factory(self):
        return boto3_ecs_factory(self.region, self.stop_attempts, self.retry_mode)

    @default("efs_client_factory")
    def _default_efs_client_factory(self):
        return functools.partial(
            aws.make_client, self.region, max_attempts=self.stop_attempts, mode=self.retry_mode, service="efs"
        )

    @validate("efs_file_system_id")
    def _check_file_system(self, proposal):
        problem = proposal.value and homes.file_system_problem(proposal.value)
        if problem:
            raise TraitError(f"ECSSpawner.efs_file_system_id {problem}")
        return proposal.value

    @validate("capacity_provider_strategy")
    def _check_capacity(self, proposal):
        problems = capacity.check_strategies(proposal.value)
        if problems:
            raise TraitError("ECSSpawner." + "; ".join(problems))
        return proposal.value

    @validate("prefix", "hub_id")
    def _check_name(self, proposal):
        check = check_prefix if proposal.trait.name == "prefix" else check_hub_id
        problem = check(proposal.value)
        if problem:
            raise TraitError(f"ECSSpawner.{proposal.trait.name} {problem}")
        return proposal.value

    @default("options_form")
    def _default_options_form(self):
        return lambda spawner: options.options_form(spawner.catalog, default_service=spawner.default_service)

    @default("options_from_form")
    def _default_options_from_form(self):
        return options.options_from_form

    @default("apply_user_options")
    def _default_apply_user_options(self):
        return _apply_user_options

    def choose(self, user_options: dict) -> options.Choice:
        """The service, size and family `user_options` ask for; OptionsError names what is offered."""
        return options.resolve(
            self.catalog, user_options or {}, prefix=self.prefix, default_service=self.default_service
        )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._progress: list[dict] = []
        self._progress_changed = asyncio.Event()
        self._start_done = False  # progress() ends once start() is done; JupyterHub also stops it with the spawn
        self._choice: tuple[dict, options.Choice] | None = None  # set by apply_user_options for these options
        self._ended: tuple[str, int] | None = None  # (task ARN, exit status) once poll() saw that task end
        self._ensure_reaper()

    # --- identity, config -------------------------------------------------

    @property
    def catalog(self) -> Catalog:
        """The catalog; a missing location or a bad file is a SpawnException an administrator can act on."""
        try:
            services_dir, sizes_file = catalog_location(
                self.services_dir, self.sizes_file, setting="c.ECSSpawner.services_dir and c.ECSSpawner.sizes_file"
            )
            return _catalog(str(services_dir), str(sizes_file))
        except (CatalogLocationError, SpecErrors) as exc:
            detail = "\n".join(exc.lines()) if isinstance(exc, SpecErrors) else str(exc)
            raise SpawnException(
                "This hub's service catalog is not available; ask an administrator.",
                reason="config",
                status_code=500,
                log_message=f"ECSSpawner: {detail}",
            ) from None

    @property
    def identity(self) -> ServerIdentity:
        return ServerIdentity(hub_id=self.hub_id, user=self.user.name, server=self.name or "")

    @property
    def task_state(self) -> TaskState:
        return TaskState(self.task_arn, self.task_cluster, self.spawn_id, self.launched_at)

    @property
    def reader(self) -> TaskReader:
        """The hub-wide reader (made by `_open_reader()` off the loop; made here, blocking, only if it was not)."""
        cluster = self.task_cluster or self.cluster
        return shared_reader(self._reader_key, self.client_factory, cluster, self.describe_cache_ttl, log=self.log)

    @property
    def _reader_key(self) -> tuple:
        return (self.hub_id, self.region, self.task_cluster or self.cluster, id(self.client_factory))

    async def _open_reader(self) -> TaskReader:
        """The hub-wide reader, its boto3 client made in a worker thread (it loads botocore's model: ~0.1 s)."""
        cluster = self.task_cluster or self.cluster
        return await open_shared_reader(
            self._reader_key, self.client_factory, cluster, self.describe_cache_ttl, log=self.log
        )

    def _check_config(self) -> None:
        missing = [
            name for name in ("cluster", "prefix", "hub_id", "subnets", "security_groups") if not getattr(self, name)
        ]
        if missing:
            raise SpawnException(
                "This hub's ECS spawner is not configured; ask an administrator.",
                reason="config",
                status_code=500,
                log_message=f"ECSSpawner needs c.ECSSpawner.{', c.ECSSpawner.'.join(missing)}",
            )

    # --- state ------------------------------------------------------------

    def get_state(self) -> dict:
        state = super().get_state()
        state.update(self.task_state.to_dict())
        return state

    def load_state(self, state: dict) -> None:
        super().load_state(state)
        restored = TaskState.from_dict(state)
        self.task_arn, self.task_cluster = restored.task_arn, restored.cluster
        self.spawn_id, self.launched_at = restored.spawn_id, restored.launched_at

    def clear_state(self) -> None:
        """Called by JupyterHub before each start() and after each stop()."""
        super().clear_state()
        self._progress, self._start_done = [], False
        self._ended = None
        if self.task_arn and (known := existing_reader(self._reader_key)) is not None:
            known.forget(self.task_arn)
        if self.spawn_id:
            bootstrap.CODES.revoke(self.spawn_id)  # an unspent code of an ended spawn fetches nothing
        if self.spawn_id and not self._run_pending():
            in_flight_for(self.hub_id).end(self.spawn_id)
        self.task_arn = self.task_cluster = self.spawn_id = ""
        self.launched_at = 0.0

    def _new_spawn_record(self, choice: options.Choice, spawn_id: str) -> records.SpawnRecorder:
        """The recorder of this spawn's record (records.py): hub log, and spawn_record_file if set."""
        return records.SpawnRecorder(
            hub_id=self.hub_id,
            user=self.user.name,
            server=self.name or "",
            service=choice.service.name,
            size=choice.size,
            family=choice.family,
            prefer_ecs_health=choice.service.health_check.prefer_ecs_health,
            spawn_id=spawn_id,
            path=self.spawn_record_file,
            log=self.log,
        )

    def _run_pending(self) -> bool:
        return self._run_future is not None and not self._run_future.done()

    # --- start ------------------------------------------------------------

    async def start(self) -> tuple[str, int]:
        began = time.monotonic()
        self._check_config()
        user_options = dict(self.user_options or {})
        if self._choice is not None and self._choice[0] == user_options:
            choice = self._choice[1]  # checked by apply_user_options before start()
        else:  # start() called without JupyterHub's hook (or the options changed since)
            try:
                choice = self.choose(user_options)
            except options.OptionsError as exc:
                raise SpawnException(str(exc), reason="bad-options", status_code=400) from None
        self._progress, self._start_done, self._ended = [], False, None  # also without clear_state()
        spawn_id = new_spawn_id()
        self.spawn_id, self.task_cluster, self.task_arn, self.launched_at = spawn_id, self.cluster, "", 0.0
        self.install_id = self._read_install_id()
        registry = in_flight_for(self.hub_id)
        registry.begin(spawn_id)
        self._spawn_record = self._new_spawn_record(choice, spawn_id)
        try:
            if capacity.SPOT_NOTICES.pop(self.identity.started_by, None):  # poll() saw the last task reclaimed
                self._emit(5, "spot-interrupted", f"Your previous server was stopped: {capacity.SPOT_MESSAGE}.")
            self._emit(10, "provisioning", f"Requesting a {choice.size} {choice.service.name} task ({choice.family})")
            await self._open_reader()
            await self._stop_own_tasks(reason="replaced by a new spawn of the same server", caller="start")
            margin = min(self.start_deadline_margin, self.start_timeout / 4)
            deadline = began + self.start_timeout - margin if margin > 0 else float("inf")
            task_definition = await self._user_task_definition(choice)
            arn = await self._run_task(
                choice, spawn_id, retry_until=min(deadline, began + self.start_timeout), task_definition=task_definition
            )
            self._spawn_record.launched()
            ready = await self._wait_until_ready(choice, arn, deadline)
            self._spawn_record.finish(None)
            return ready
        except (ClientError, BotoCoreError) as exc:  # every AWS refusal: the call and the code, no traceback
            raise _aws_spawn_error(exc) from None
        finally:
            self._spawn_record.finish(sys.exc_info()[1])  # a failure; after finish(None) this does nothing
            self._start_done = True
            self._progress_changed.set()
            if not self._run_pending():
                registry.end(spawn_id)  # from here the spawner's state (memory, then DB) holds the task

    async def _run_task(
        self, choice: options.Choice, spawn_id: str, *, retry_until: float = 0.0, task_definition: str = ""
    ) -> str:
        client = self.reader.client
        task_definition = task_definition or choice.family
        container = self.container_name or await self._first_essential(task_definition)
        env = {k: str(v) for k, v in self.get_env().items()}
        if self.token_bootstrap and self.api_token:  # nothing long-lived in what DescribeTasks shows
            env = bootstrap.split_env(env, self.api_token)
            ttl = self.start_timeout + self.http_timeout  # the server fetches its token before it answers HTTP
            env[bootstrap.CODE_ENV] = bootstrap.CODES.issue(self.api_token, spawn_id, ttl)
        container_overrides = overrides.container_overrides(container, env)
        if problem := overrides.too_large(container_overrides, env):  # RunTask would refuse it with a raw error
            raise SpawnException(
                f"Your server cannot be started on ECS: {problem}. A very long user or server name is the usual "
                "cause; ask an administrator.",
                reason="overrides-too-large",
                status_code=500,
            )
        network = {
            "subnets": list(self.subnets),
            "securityGroups": list(self.security_groups),
            "assignPublicIp": "ENABLED" if self.assign_public_ip else "DISABLED",
        }
        kwargs: dict[str, Any] = dict(
            cluster=self.cluster,
            taskDefinition=task_definition,
            **capacity.launch_arguments(
                capacity.strategy_for(self.capacity_provider_strategy, choice.service.name, choice.size)
            ),
            platformVersion=self.platform_version,
            count=1,
            clientToken=spawn_id,
            startedBy=self.identity.started_by,
            tags=self.identity.tags(spawn_id, self.install_id),
            networkConfiguration={"awsvpcConfiguration": network},
            overrides=container_overrides,
        )
        if choice.service.exec_enabled:  # ECS Exec: the task definition has the init process and the role
            kwargs["enableExecuteCommand"] = True
        retry = aws.retry_transient(
            client.run_task, timeout=retry_until - time.monotonic(), start_wait=self.retry_backoff, **kwargs
        )
        self._run_future = future = asyncio.ensure_future(retry)
        # Runs even if start() is cancelled by start_timeout while RunTask is in flight.
        future.add_done_callback(lambda f: self._record_run(spawn_id, f))
        try:
            reply = await asyncio.shield(future)
        except (ClientError, BotoCoreError) as exc:
            raise _aws_spawn_error(exc, f"ECS refused to start {choice.family}") from None
        failures = reply.get("failures") or []
        tasks = reply.get("tasks") or []
        if failures or not tasks:
            detail = "; ".join(f"{f.get('reason')}: {f.get('detail', '')}" for f in failures) or "no task returned"
            raise SpawnException(
                f"ECS could not start {choice.family}: {detail}", reason="run-task-failed", status_code=500
            )
        arn = tasks[0]["taskArn"]
        self.log.info("%s: RunTask %s -> %s (spawn %s)", self._log_name, choice.family, arn, spawn_id)
        return arn

    # --- per-user EFS homes (homes.py) -----------------------------------------

    async def _homes(self) -> homes.UserHomes:
        """This hub's per-user homes (one per hub, file system and cluster), clients made in a worker thread."""
        if not self.efs_file_system_id:
            raise SpawnException(
                "This hub's home directories are not configured; ask an administrator.",
                reason="config",
                status_code=500,
                log_message="ECSSpawner needs c.ECSSpawner.efs_file_system_id (the stack's HomeFileSystemId) "
                "for a service with efs per_user: true",
            )
        key = (self.hub_id, self.efs_file_system_id, self.region, self.cluster, id(self.efs_client_factory))
        if key not in homes._homes:
            efs_client = await aws.call(self.efs_client_factory)
            ecs_client = (await self._open_reader()).client
            return homes.shared_homes(
                key,
                lambda: homes.UserHomes(
                    efs_client=efs_client,
                    ecs_client=ecs_client,
                    file_system_id=self.efs_file_system_id,
                    hub_id=self.hub_id,
                    prefix=self.prefix,
                    log=self.log,
                    definition_ttl=self.task_definition_cache_ttl,
                ),
            )
        return homes._homes[key]

    async def _user_task_definition(self, choice: options.Choice) -> str:
        """For a per-user home: the exact revision (the user's family) naming the user's access point; else ""."""
        home = choice.service.efs
        if home is None or not home.per_user:
            return ""
        self._emit(20, "home", "Preparing your home directory")
        try:
            user_homes = await self._homes()
            point = await user_homes.access_point(self.user.name, home, self.install_id)
            return await user_homes.task_definition(
                choice.family, self.user.name, point["AccessPointId"], self.install_id
            )
        except (ClientError, BotoCoreError) as exc:
            raise _aws_spawn_error(exc, "Your home directory could not be prepared", service="") from None
        except homes.HomeError as exc:
            raise SpawnException(
                "Your home directory could not be prepared; ask an administrator.",
                reason="home",
                status_code=500,
                log_message=f"ECSSpawner: {exc}",
            ) from None

    async def delete_forever(self) -> None:
        """JupyterHub deletes the user (called for the default server too) or a named server.

        Only the user's deletion removes anything: that user's access points and task definition revisions
        (efs_cleanup_on_delete), logged. A named server's deletion keeps them: the home is the user's.
        """
        if self.name or not self.efs_cleanup_on_delete or not self.efs_file_system_id:
            return
        try:
            per_user = any(s.efs is not None and s.efs.per_user for s in self.catalog.services)
        except SpawnException:
            per_user = True  # no catalog: clean up anyway, by name
        if per_user:
            await self.remove_user_home(self.user.name)

    async def remove_user_home(self, user: str) -> tuple[list[str], list[str]]:
        """Delete `user`'s access points and deregister `user`'s task definition revisions; logged. Files stay."""
        user_homes = await self._homes()
        points, revisions = await user_homes.remove_user(user)
        self.log.warning(
            "EFS home of %s removed: %d access point(s) deleted, %d revision(s) deregistered; files stay on %s",
            user,
            len(points),
            len(revisions),
            self.efs_file_system_id,
        )
        return points, revisions

    def _record_run(self, spawn_id: str, future: asyncio.Future) -> None:
        """Record the ARN the moment RunTask answers, whatever happened to start() meanwhile."""
        registry = in_flight_for(self.hub_id)
        if future.cancelled() or future.exception() is not None:
            registry.end(spawn_id)
            return
        tasks = future.result().get("tasks") or []
        arn = tasks[0]["taskArn"] if tasks else ""
        if arn and self.spawn_id == spawn_id:
            self.task_arn, self.launched_at = arn, time.time()
            registry.record(spawn_id, arn)
        elif arn:  # the server was stopped and cleared while RunTask ran: nobody will hold this task
            self.log.warning("%s: RunTask answered %s after the spawn was abandoned; stopping it", self._log_name, arn)
            stop = asyncio.ensure_future(
                self._try_stop(arn, "spawn abandoned before RunTask answered", caller="abandoned")
            )
            _background.add(stop)  # keep a reference until it ends (the loop holds only a weak one)
            stop.add_done_callback(_background.discard)
        if self._start_done or self.spawn_id != spawn_id:
            registry.end(spawn_id)

    async def _first_essential(self, family: str) -> str:
        names = await self.reader.essential_containers(family, strict=True)
        if not names:
            raise SpawnException(
                f"Task definition {family} has no essential container", reason="task-definition", status_code=500
            )
        return names[0]

    async def _wait_until_ready(self, choice: options.Choice, arn: str, deadline: float) -> tuple[str, int]:
        labels = (choice.service.name, choice.size)
        prefer_health = choice.service.health_check.prefer_ecs_health
        launched = time.monotonic()
        running_seen = False
        last: dict | None = None
        while True:
            if time.monotonic() >= deadline:
                await self._give_up(choice, arn, last, time.monotonic() - launched)
            lookup = await self.reader.get(arn, max_age=self.start_poll_interval / 2)
            task = lookup.task
            if task is not None:
                last = task
                self._spawn_record.saw(task)
            if lookup.missing and time.time() - self.launched_at > self.missing_grace:
                raise SpawnException(
                    f"Task {arn} disappeared from ECS while starting", reason="missing", status_code=500
                )
            if task is not None:
                if taskview.is_stopping(task) and capacity.is_spot_interruption(task):
                    raise SpawnException(
                        f"{capacity.SPOT_MESSAGE} (it was still starting).", reason="spot-interruption", status_code=503
                    )
                if taskview.is_stopping(task):
                    summary = taskview.stop_summary(task)
                    essential = await self.reader.essential_containers(task.get("taskDefinitionArn", ""))
                    summary += taskview.stopped_container_text(task, essential)
                    raise SpawnException(
                        f"Your server's task stopped while starting ({summary})", reason="task-stopped", status_code=500
                    )
                phase = taskview.phase(task)
                ip = taskview.private_ip(task)
                if phase == "pulling":
                    self._emit(35, "pulling", f"Pulling image {choice.service.image}")
                elif phase == "running" and ip:
                    if not running_seen:
                        running_seen = True
                        metrics.TIME_TO_RUNNING.labels(*labels).observe(time.monotonic() - launched)
                        self._emit(70, "running", "Task running")  # never the private address
                    dependency = taskview.waiting_for(task, choice.service.depends_on)
                    if dependency is not None:
                        condition = "healthy" if choice.service.depends_on[dependency] == "HEALTHY" else "started"
                        self._emit(80, f"waiting-{dependency}", f"Waiting for {dependency} to be {condition}")
                    if not prefer_health and dependency is None:
                        self._emit(100, "ready", "Server ready")
                        return ip, choice.service.port
                    health = task.get("healthStatus", "UNKNOWN") if prefer_health else "UNKNOWN"
                    if health == "HEALTHY":
                        metrics.TIME_TO_HEALTHY.labels(*labels).observe(time.monotonic() - launched)
                        self._emit(100, "ready", "Health check passed; server ready")
                        return ip, choice.service.port
                    if health == "UNHEALTHY":
                        await self._stop_task(arn, "health check failed while starting", caller="start")
                        raise SpawnException(
                            "Your server failed its health check while starting", reason="unhealthy", status_code=500
                        )
                    if prefer_health and dependency is None:
                        self._emit(85, "health-checking", "Waiting for the container health check")
            await asyncio.sleep(max(0.0, min(self.start_poll_interval, deadline - time.monotonic())))

    async def _give_up(self, choice: options.Choice, arn: str, task: dict | None, waited: float) -> None:
        """start_timeout is about to run out: stop the task and say what it was waiting for."""
        stopped = await self._try_stop(arn, "not ready before start_timeout", caller="start")
        outcome = "The task was stopped." if stopped else "Stopping the task failed; the hub retries it."
        service = choice.service
        status = (task or {}).get("lastStatus", "not yet described")
        if task is not None and taskview.phase(task) == "running" and service.health_check.prefer_ecs_health:
            health = task.get("healthStatus") or "UNKNOWN"
            by = worst_time_to_healthy(service)
            message = (
                f"Your {service.name} server did not pass its container health check within {waited:.0f} s "
                f"(start_timeout {self.start_timeout} s); last health status {health}. "
                f"The check ({check_summary(service)}) should report HEALTHY by {by.seconds:.0f} s "
                f"(simulated, {by.profile} profile, server answering from {by.ready_at:g} s). {outcome}"
            )
        else:
            message = (
                f"Your {service.name} server's task was not ready within {waited:.0f} s "
                f"(start_timeout {self.start_timeout} s); last task status {status}. {outcome}"
            )
        self.log.warning("%s: %s (%s)", self._log_name, message, arn)
        raise SpawnException(message, reason="start-deadline", status_code=500)

    # --- progress ---------------------------------------------------------

    def _emit(self, progress: int, phase: str, message: str) -> None:
        if any(e.get("phase") == phase for e in self._progress):
            return
        self._progress.append({"progress": progress, "phase": phase, "message": message})
        self._progress_changed.set()

    async def progress(self) -> AsyncIterator[dict]:
        sent = 0
        while True:
            self._progress_changed.clear()
            for event in self._progress[sent:]:
                yield {"progress": event["progress"], "message": event["message"]}
            sent = len(self._progress)
            if self._start_done:
                return
            try:
                await asyncio.wait_for(self._progress_changed.wait(), timeout=1.0)
            except TimeoutError:
                pass

    # --- poll -------------------------------------------------------------

    async def poll(self) -> int | None:
        """None while starting or running; an exit status once the task is gone. Never raises."""
        if self.task_state.empty:
            return 0
        try:
            return await self._poll_task()
        except Exception:
            self.log.exception("%s: poll failed; assuming the server is still there", self._log_name)
            metrics.POLL_RESULTS.labels("error").inc()
            return None

    async def _poll_task(self) -> int | None:
        arn = self.task_arn
        if not arn:
            running = self._run_pending() or self.spawn_id in in_flight_for(self.hub_id)
            return None if running else 0
        if self._ended is not None and self._ended[0] == arn:
            return self._ended[1]  # JupyterHub polls an ending server again (User.stop): one result, one StopTask
        status = await self._read_task_status(arn)
        if status is not None:
            self._ended = (arn, status)
        return status

    async def _read_task_status(self, arn: str) -> int | None:
        lookup = await (await self._open_reader()).get(arn)
        if lookup.error:
            metrics.POLL_RESULTS.labels("aws-error").inc()
            self.log.warning("%s: cannot read task %s (%s); keeping it", self._log_name, arn, lookup.error)
            return None
        if lookup.missing:
            if time.time() - self.launched_at <= self.missing_grace:
                return None
            metrics.POLL_RESULTS.labels("missing").inc()
            self.log.warning("%s: task %s is unknown to ECS; reporting the server stopped", self._log_name, arn)
            return 0
        task = lookup.task
        if task is None:  # neither an error nor missing: the reader always has the task then
            return None
        if taskview.is_stopping(task):
            code = taskview.exit_code(task, await self.reader.essential_containers(task.get("taskDefinitionArn", "")))
            metrics.POLL_RESULTS.labels("stopped").inc()
            if capacity.is_spot_interruption(task):
                capacity.SPOT_NOTICES[self.identity.started_by] = arn  # the next start() of this server tells the user
            essential = await self.reader.essential_containers(task.get("taskDefinitionArn", ""))
            self.log.warning(
                "%s: task %s stopped (%s%s); exit code %s",
                self._log_name,
                arn,
                taskview.stop_summary(task),
                taskview.stopped_container_text(task, essential),
                code,
            )
            return code
        if task.get("healthStatus") == "UNHEALTHY":
            metrics.POLL_RESULTS.labels("unhealthy").inc()
            self.log.warning(
                "%s: task %s is UNHEALTHY; ECS does not replace RunTask tasks, stopping it", self._log_name, arn
            )
            await self._try_stop(arn, "health check failed (UNHEALTHY)", caller="poll-unhealthy")
            return 1
        metrics.POLL_RESULTS.labels("running").inc()
        return None

    # --- stop -------------------------------------------------------------

    async def stop(self, now: bool = False) -> None:
        """Stop this server's task. Idempotent: a task ECS no longer knows counts as stopped."""
        if self._run_pending() and self._run_future is not None:
            try:  # start() was cancelled while RunTask ran: wait for its ARN instead of leaking the task
                await asyncio.wait_for(asyncio.shield(self._run_future), timeout=60)
            except Exception:
                pass
        if self.task_arn:
            await self._stop_task(self.task_arn, "stopped by JupyterHub")
        elif self.spawn_id:
            await self._stop_own_tasks(reason="stopped by JupyterHub before RunTask answered", caller="stop")

    async def _stop_task(self, arn: str, reason: str, *, caller: str = "stop") -> None:
        """StopTask (botocore retries it); a failure is counted, logged and left to the reaper's retry list, then raised."""
        client = (await self._open_reader()).client
        cluster = self.task_cluster or self.cluster
        try:
            await aws.call(client.stop_task, cluster=cluster, task=arn, reason=reason[:255])
        except Exception as exc:
            if not aws.is_task_not_found(exc):
                self._stop_failed(arn, cluster, reason, caller, exc)
                raise
            self.log.info("%s: task %s already gone", self._log_name, arn)
        else:
            self.log.info("%s: stopped task %s (%s)", self._log_name, arn, reason)
        pending_stops_for(self.hub_id).discard(arn)

    def _stop_failed(self, arn: str, cluster: str, reason: str, caller: str, exc: BaseException) -> None:
        """Count, log and keep a task whose StopTask failed: JupyterHub forgets the server regardless."""
        entry = pending_stops_for(self.hub_id).add(arn, cluster, reason, aws.error_code(exc))
        metrics.STOP_FAILURES.labels(caller).inc()
        if arn == self.task_arn:
            self._revoke_api_token()  # JupyterHub deletes it only after a stop() that did not raise
        retry = (
            "the orphan reaper retries it every sweep"
            if self.reaper_interval > 0
            else "the orphan reaper is off (reaper_interval = 0): stop it by hand"
        )
        self.log.error(
            "%s: StopTask of %s (%s) failed: %s: %s; the task may still be running (failure %d); %s",
            self._log_name,
            arn,
            reason,
            aws.error_code(exc),
            _aws_message(exc),
            entry.failures,
            retry,
        )

    def _revoke_api_token(self) -> None:
        """Delete this server's hub API token: a task that may still run must not keep acting for the user."""
        db = getattr(self.user, "db", None)
        if db is None or not self.api_token:
            return
        try:
            from jupyterhub import orm

            token = orm.APIToken.find(db, self.api_token)
            if token is not None:
                db.delete(token)
                db.commit()
                self.log.warning("%s: revoked the server's API token (its task may still be running)", self._log_name)
        except Exception:
            db.rollback()
            self.log.exception("%s: could not revoke the server's API token", self._log_name)

    async def _try_stop(self, arn: str, reason: str, *, caller: str) -> bool:
        """_stop_task for callers that must not raise (poll, callbacks); False if it failed (logged and kept)."""
        try:
            await self._stop_task(arn, reason, caller=caller)
        except Exception:
            return False
        return True

    async def _stop_own_tasks(self, reason: str, *, caller: str) -> None:
        """Stop running tasks with this server's startedBy key (and this hub's tag): never another server's."""
        client, ident = (await self._open_reader()).client, self.identity
        reply = await aws.call(
            client.list_tasks, cluster=self.cluster, startedBy=ident.started_by, desiredStatus="RUNNING"
        )
        arns = reply.get("taskArns", [])
        if not arns:
            return
        found = await self.reader.describe_now(arns)
        install_id = self.install_id or self._read_install_id()
        for arn, lookup in found.items():
            if (
                lookup.task is None
                or lookup.task.get("startedBy") != ident.started_by
                or tags_of(lookup.task).get(TAG_HUB) != self.hub_id
            ):
                continue
            theirs = other_install(lookup.task, self.hub_id, install_id)
            if theirs is not None:  # a second hub with this hub_id: its server, not ours to stop
                metrics.HUB_ID_CONFLICTS.labels("start").inc()
                self.log.error("%s: %s", self._log_name, conflict_message(self.hub_id, install_id, theirs, arn))
                continue
            await self._stop_task(arn, reason, caller=caller)

    def _read_install_id(self) -> str:
        """This hub's install id from its database (install.py); a database error is a SpawnException."""
        db = getattr(self.user, "db", None)
        if db is None:
            return ""
        try:
            return install.install_id(db, self.hub_id)
        except Exception as exc:
            self.log.exception("%s: cannot read this hub's install id from its database", self._log_name)
            raise SpawnException(
                "This hub cannot read its own database; ask an administrator.",
                reason="database",
                status_code=500,
                log_message=f"ECSSpawner: reading the install id failed: {exc}",
            ) from None

    # --- reaper -------------------------------------------------------------

    def _ensure_reaper(self) -> None:
        """Make sure the hub's sweep runs (hubstart.py starts it with the hub; this covers hubs built otherwise)."""
        settings = getattr(self.user, "settings", None) or {}
        self.start_reaper(users=settings.get("users"), db=getattr(self.user, "db", None))

    def start_reaper(self, *, users: Any, db: Any) -> asyncio.Task | None:
        """Start the hub's single orphan sweep (reaper.py) unless it runs, is disabled or cannot be told apart."""
        if self.reaper_interval <= 0 or users is None or db is None or check_hub_id(self.hub_id) or not self.cluster:
            return None
        return reaper.ensure_periodic(self.hub_id, lambda: self.make_reaper(users=users, db=db), self.reaper_interval)

    def make_reaper(self, *, users: Any, db: Any) -> reaper.OrphanReaper:
        """The reaper for this hub, seeing every user's servers through the hub's users and database."""
        registry = in_flight_for(self.hub_id)
        return reaper.OrphanReaper(
            client=self.client_factory(),
            cluster=self.cluster,
            hub_id=self.hub_id,
            holdings=functools.partial(read_hub_holdings, users=users, db=db, in_flight=registry),
            min_age=self.start_timeout + self.reaper_margin,
            dry_run=self.reaper_dry_run,
            log=self.log,
            install_id=lambda: install.install_id(db, self.hub_id),
            pending=pending_stops_for(self.hub_id),
        )


def _apply_user_options(spawner: ECSSpawner, user_options: dict) -> None:
    """JupyterHub's apply_user_options hook: check the service and size before start(); 400 names the choices."""
    try:
        choice = spawner.choose(user_options)
    except options.OptionsError as exc:
        raise web.HTTPError(400, "%s", str(exc)) from None
    spawner._choice = (dict(user_options or {}), choice)


def _aws_message(exc: BaseException) -> str:
    return str(exc.response.get("Error", {}).get("Message", "")) if isinstance(exc, ClientError) else str(exc)


def _aws_spawn_error(exc: BaseException, context: str = "", service: str = "ECS") -> SpawnException:
    """An AWS refusal as the user sees it: which call (of which service), which AWS error code, AWS's message."""
    operation = getattr(exc, "operation_name", "") or "request"
    if not service:  # the client's own name: EFS or ECS
        service = _service_of(operation)
    message = _aws_message(exc)
    text = f"{service} {operation} failed: {aws.error_code(exc)}: {message}".rstrip(": ")
    return SpawnException(f"{context}: {text}" if context else text, reason="aws-error", status_code=500)


_EFS_OPERATIONS = {"CreateAccessPoint", "DescribeAccessPoints", "DeleteAccessPoint"}


def _service_of(operation: str) -> str:
    return "EFS" if operation in _EFS_OPERATIONS else "ECS"


_catalogs: dict[tuple[str, str], Catalog] = {}


def _catalog(services_dir: str, sizes_file: str) -> Catalog:
    key = (str(Path(services_dir).resolve()), str(Path(sizes_file).resolve()))
    if key not in _catalogs:
        _catalogs[key] = load_catalog(Path(services_dir), Path(sizes_file))
    return _catalogs[key]


hubstart.watch_hub()  # JupyterHub imports this while it initializes: start the reaper with the hub, not a user

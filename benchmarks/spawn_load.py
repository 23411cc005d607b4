"""500 concurrent spawns against ECS's RunTask throttling, then 500 stops: the spawner under load (issue 14).

moto's ECS runs as a server on 127.0.0.1 in a child process (so its CPU does not share the
hub's GIL), with RunTask behind a token bucket the way Fargate throttles it (20 calls a
second, burst 20: the RunTask quota in the ECS developer guide, "AWS Fargate throttling
quotas"); an empty bucket answers ThrottlingException. The hub side is the real spawner in
a miniature hub (tests/spawner/conftest.py: JupyterHub's ORM on a SQLite file, real User
objects), talking to that server through the default client factory
(AWS_ENDPOINT_URL_ECS points it at 127.0.0.1).

For each retry behaviour, in one run: the previous hand-kept retries (a fixed list of
codes, no jitter, sleeping in the default thread pool), then botocore's "standard" and
"adaptive" modes with start()'s exponential_backoff. Prints RunTask attempts and accepted
calls per second, p50/p99 time to RUNNING (start() returning), the event loop's worst
stall, and PASS/FAIL for: every server started exactly once, no orphan left after the
stops, the reaper stopped nothing held. Times are moto's on this machine, not AWS's.

    .venv/bin/python benchmarks/spawn_load.py [servers] [mode ...]   # default: 500 baseline standard
    .venv/bin/python benchmarks/spawn_load.py 500 baseline standard adaptive

"worst loop stall" is the longest a 5 ms sleep on the hub's loop woke up late. With 500
spawns requested in the same instant it is dominated by the hub's own synchronous
bookkeeping of those requests (the miniature hub's ORM commits, as JupyterHub's), which
all run before the loop gets back to the sampler; tests/spawner/test_event_loop.py checks
that the spawner adds no blocking call of its own.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REGION = "us-east-1"
RATE, BURST = 20.0, 20.0  # Fargate's RunTask quota: 20 calls/s sustained and burst
SERVERS = 500
MODES = ("baseline", "standard")  # add "adaptive" on the command line (about 45 s more)


# --- the child process: moto's server with a throttled RunTask -----------------------------------


def serve(port: int) -> None:
    from moto.core.exceptions import JsonRESTError
    from moto.ecs.models import EC2ContainerServiceBackend
    from moto.server import ThreadedMotoServer

    lock = threading.Lock()
    bucket = {"tokens": BURST, "at": time.monotonic()}
    run_task = EC2ContainerServiceBackend.run_task

    def throttled_run_task(self: Any, *args: Any, **kwargs: Any) -> Any:
        with lock:
            now = time.monotonic()
            bucket["tokens"] = min(BURST, bucket["tokens"] + (now - bucket["at"]) * RATE)
            bucket["at"] = now
            if bucket["tokens"] < 1:
                raise JsonRESTError("ThrottlingException", "Rate exceeded")
            bucket["tokens"] -= 1
        return run_task(self, *args, **kwargs)

    EC2ContainerServiceBackend.run_task = throttled_run_task  # type: ignore[method-assign]
    import logging

    from moto.moto_api import state_manager

    state_manager.set_transition("ecs::task", {"progression": "manual", "times": 10**9})  # as the tests do
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    sys.stdin.read()  # until the parent closes our stdin
    server.stop()


# --- the hub side -------------------------------------------------------------------------------


class HandKept:
    """The retries before issue 14: a fixed list of codes, no jitter, sleeping in the worker thread."""

    CODES = frozenset(
        {
            "ThrottlingException",
            "Throttling",
            "TooManyRequestsException",
            "RequestLimitExceeded",
            "ServiceUnavailable",
            "ServiceUnavailableException",
            "ServerException",
            "InternalFailure",
            "RequestTimeout",
            "RequestTimeoutException",
        }
    )

    def __init__(self, client: Any, attempts: int = 5, backoff: float = 1.0) -> None:
        self._client, self._attempts, self._backoff = client, attempts, backoff

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def _retry(self, fn: Callable[..., Any], kwargs: dict) -> Any:
        from botocore.exceptions import ClientError

        for attempt in range(self._attempts):
            try:
                return fn(**kwargs)
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if attempt == self._attempts - 1 or code not in self.CODES:
                    raise
                time.sleep(self._backoff * (2**attempt))
        raise AssertionError("unreachable")

    def run_task(self, **kwargs: Any) -> Any:
        return self._retry(self._client.run_task, kwargs)

    def stop_task(self, **kwargs: Any) -> Any:
        return self._retry(self._client.stop_task, kwargs)

    def list_tasks(self, **kwargs: Any) -> Any:
        return self._retry(self._client.list_tasks, kwargs)


def setup_aws(port: int) -> tuple[str, str]:
    import boto3

    from tests.moto_families import register_families
    from tests.spawner.conftest import PREFIX

    url = f"http://127.0.0.1:{port}"
    ec2 = boto3.client("ec2", region_name=REGION, endpoint_url=url)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})  # moto's task ENIs need DNS names
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/17")["Subnet"]["SubnetId"]
    sg = ec2.create_security_group(GroupName="tasks", Description="tasks", VpcId=vpc)["GroupId"]
    ecs = boto3.client("ecs", region_name=REGION, endpoint_url=url)
    register_families(ecs, PREFIX)
    return subnet, sg


def all_tasks(ecs: Any, cluster: str) -> list[dict]:
    arns: list[str] = []
    for status in ("RUNNING", "STOPPED"):
        for page in ecs.get_paginator("list_tasks").paginate(cluster=cluster, desiredStatus=status):
            arns += page["taskArns"]
    tasks: list[dict] = []
    for start in range(0, len(arns), 100):
        tasks += ecs.describe_tasks(cluster=cluster, tasks=arns[start : start + 100])["tasks"]
    return tasks


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def one_run(mode: str, servers: int, subnet: str, sg: str, workdir: Path) -> dict[str, Any]:
    import boto3
    from jupyterhub import orm

    from ecsspawner import aws, pending, reader
    from ecsspawner import spawner as spawner_module
    from tests.spawner.conftest import make_hub, spawner_config
    from tests.spawner.looplag import LoopLag

    cluster = f"load-{mode}"
    ecs = boto3.client("ecs", region_name=REGION)  # the benchmark's own view, unthrottled calls only
    ecs.create_cluster(clusterName=cluster)
    reader.reset_shared()
    spawner_module._in_flight.clear()
    pending.reset()
    attempts: Counter[str] = Counter()

    def count(request: Any, **_: Any) -> None:
        target = request.headers.get("X-Amz-Target", b"")
        attempts[(target.decode() if isinstance(target, bytes) else target).rpartition(".")[2]] += 1

    def factory() -> Any:
        if mode == "baseline":
            client = aws.make_client(REGION, max_attempts=1)
        else:
            client = spawner_module.boto3_ecs_factory(REGION, 5, mode)()
        client.meta.events.register("before-send", count)  # every HTTP attempt, botocore's retries included
        return HandKept(client) if mode == "baseline" else client

    saved_retry, saved_executor = aws.retry_transient, aws._executor
    if mode == "baseline":  # the previous behaviour: no start()-level retry, the default thread pool

        async def no_retry(fn: Callable[..., Any], /, *, timeout: float, start_wait: float, **kw: Any) -> Any:
            return await aws.call(fn, **kw)

        aws.retry_transient = no_retry  # type: ignore[assignment]
        aws._executor = ThreadPoolExecutor(max_workers=min(32, (os.cpu_count() or 1) + 4))

    class _Aws:  # what spawner_config reads
        def client(self) -> Any:
            return None

    config_aws: Any = _Aws()
    config_aws.cluster, config_aws.subnet, config_aws.security_group = cluster, subnet, sg
    config = spawner_config(config_aws, client_factory=factory, start_timeout=300, start_poll_interval=2.0)
    config.ECSSpawner.retry_backoff = 1.0
    db = orm.new_session_factory(f"sqlite:///{workdir}/{mode}.sqlite")()
    hub = make_hub(db, config)
    users = [hub.user(f"user{i}") for i in range(servers)]
    took: dict[str, float] = {}
    failed: list[str] = []

    async def spawn(user: Any) -> Any:
        began = time.monotonic()
        try:
            spawner = await hub.spawn(user, "", {"service": "lab"})
        except Exception as exc:
            failed.append(f"{user.name}: {str(exc)[:120]}")
            return None
        took[user.name] = time.monotonic() - began
        return spawner

    lag = LoopLag().start()
    began = time.monotonic()
    spawned = await asyncio.gather(*(spawn(u) for u in users))
    spawn_seconds = time.monotonic() - began
    run_attempts = attempts["RunTask"]
    live = [s for s in spawned if s is not None]

    reaper = await asyncio.to_thread(live[0].make_reaper, users=hub.users, db=db) if live else None
    decisions: Counter[str] = Counter()
    if reaper is not None:
        reaper.now = lambda: datetime.now(UTC) + timedelta(days=1)  # every task old enough to be reaped
        for _ in range(2):  # two sweeps: a task held by nobody would be stopped on the second
            decisions.update(d.decision for d in await reaper.sweep())
    began = time.monotonic()
    await asyncio.gather(*(s.stop() for s in live), return_exceptions=True)
    stop_seconds = time.monotonic() - began
    worst = await lag.stop()
    aws.retry_transient, aws._executor = saved_retry, saved_executor

    tasks = await asyncio.to_thread(all_tasks, ecs, cluster)
    per_server = Counter(t.get("startedBy", "") for t in tasks)
    running = [t for t in tasks if t["lastStatus"] != "STOPPED" or t["desiredStatus"] != "STOPPED"]
    return {
        "mode": mode,
        "started": len(live),
        "failed": failed,
        "spawn_s": spawn_seconds,
        "stop_s": stop_seconds,
        "runtask_attempts": run_attempts,
        "accepted": len(tasks),
        "p50": pct(list(took.values()), 0.50),
        "p99": pct(list(took.values()), 0.99),
        "stall": worst,
        "once": len(per_server) == servers and set(per_server.values()) == {1} and len(live) == servers,
        "duplicates": sum(n - 1 for n in per_server.values()),
        "orphans": len(running),
        "reaped_held": decisions["stopped"] + decisions["would-stop"] + decisions["stop-failed"],
        "held": decisions["held"],
    }


def report(results: list[dict[str, Any]], servers: int) -> None:
    names = [r["mode"] for r in results]
    width = max(14, *(len(n) + 2 for n in names))
    rows = [
        ("servers started", lambda r: f"{r['started']}/{servers}"),
        ("spawn phase, s", lambda r: f"{r['spawn_s']:.1f}"),
        ("RunTask attempts/s", lambda r: f"{r['runtask_attempts'] / r['spawn_s']:.1f}"),
        ("RunTask accepted/s", lambda r: f"{r['accepted'] / r['spawn_s']:.1f}"),
        ("RunTask throttled", lambda r: f"{r['runtask_attempts'] - r['accepted']}"),
        ("p50 to RUNNING, s", lambda r: f"{r['p50']:.1f}"),
        ("p99 to RUNNING, s", lambda r: f"{r['p99']:.1f}"),
        ("stop phase, s", lambda r: f"{r['stop_s']:.1f}"),
        ("worst loop stall, ms", lambda r: f"{r['stall'] * 1000:.0f}"),
    ]
    print(f"{'':24}" + "".join(f"{n:>{width}}" for n in names))
    for label, cell in rows:
        print(f"{label:24}" + "".join(f"{cell(r):>{width}}" for r in results))
    print()
    for r in results:
        checks = [
            (r["once"], f"every server started exactly once ({r['duplicates']} duplicate tasks)"),
            (r["orphans"] == 0, f"no orphan remains after the stops ({r['orphans']} running)"),
            (r["reaped_held"] == 0, f"the reaper stopped nothing held ({r['held']} held decisions, 2 sweeps)"),
        ]
        for ok, text in checks:
            print(f"{'PASS' if ok else 'FAIL'} {r['mode']}: {text}")
        for line in r["failed"][:3]:
            print(f"     {r['mode']} failed spawn: {line}")
        if len(r["failed"]) > 3:
            print(f"     ... and {len(r['failed']) - 3} more failed spawns")


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["--serve"]:
        serve(int(args[1]))
        return
    servers = int(args[0]) if args and args[0].isdigit() else SERVERS
    modes = [a for a in args if not a.isdigit()] or list(MODES)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGION,
        AWS_ENDPOINT_URL_ECS=f"http://127.0.0.1:{port}",  # the default client factory's clients go here
        AWS_ENDPOINT_URL_EC2=f"http://127.0.0.1:{port}",
    )
    child = subprocess.Popen([sys.executable, __file__, "--serve", str(port)], stdin=subprocess.PIPE)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        subnet, sg = setup_aws(port)
        import logging

        logging.getLogger("traitlets").setLevel(logging.CRITICAL)  # the spawners' per-server lines
        print(
            f"{servers} concurrent spawns, then stops; moto server on 127.0.0.1:{port}; RunTask throttled "
            f"at {RATE:g}/s, burst {BURST:g} (ThrottlingException); {os.cpu_count()} CPUs"
        )
        results = []
        with tempfile.TemporaryDirectory() as tmp:
            for mode in modes:
                began = time.monotonic()
                results.append(asyncio.run(one_run(mode, servers, subnet, sg, Path(tmp))))
                print(f"  {mode}: {time.monotonic() - began:.0f} s", flush=True)
        print()
        report(results, servers)
    finally:
        if child.stdin is not None:
            child.stdin.close()
        child.wait(timeout=30)


if __name__ == "__main__":
    main()

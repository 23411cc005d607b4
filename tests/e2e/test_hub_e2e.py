"""The spawner inside a real JupyterHub (the pinned version) with configurable-http-proxy, end to end.

- ECS is moto's server, run in this process in a thread on 127.0.0.1, so the test
  sets what moto does not model (createdAt, healthStatus, stop codes) on moto's own
  task objects and counts StopTask calls there; the spawner is never patched.
- EFS is the same moto server: lab's per-user homes (access points, per-user families)
  go through it, the file system id reaching the hub as EFS_FILE_SYSTEM_ID, as the
  example config reads it.
- The hub is `jupyterhub -f hub_config.py`: the example config plus a test spawner
  subclass (e2e_spawner.py) that hands JupyterHub a stand-in single-user server on
  127.0.0.1 instead of the task's 10.x address.
- The hub's and proxy's sockets are sampled all along: every remote address must
  be 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import jupyterhub
import pytest
import requests

from ecsspawner.homes import user_family
from tests.catalogs import HUB_CATALOG_SERVICES
from tests.moto_families import register_families

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CHP = ROOT / "node_modules" / ".bin" / "configurable-http-proxy"
REGION, ACCOUNT, PREFIX, HUB_ID, CLUSTER = "us-east-1", "123456789012", "calliope-hub-dev", "e2e-hub", "e2e-cluster"
TEN_HOURS = timedelta(hours=10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, check, timeout: float = 20.0, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


# --- the stand-in single-user server ---------------------------------------------------


class _StandIn(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'{"stand-in": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-JupyterHub-Version", jupyterhub.__version__)  # as jupyterhub-singleuser sends it
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_HEAD = do_GET

    def log_message(self, *args):
        pass


# --- sockets of the hub and its children -----------------------------------------------


def _children(pid: int) -> set[int]:
    found = {pid}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) in found:
                found.add(int(stat.parent.name))
    return found


def _addr(hex_addr: str) -> str:
    host, _ = hex_addr.split(":")
    raw = bytes.fromhex(host)
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw[::-1])
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
    return socket.inet_ntop(socket.AF_INET6, words)


def remote_addresses(pid: int) -> set[str]:
    """Remote addresses of every TCP socket the process tree holds (connected, connecting or listening)."""
    out: set[str] = set()
    for proc in _children(pid):
        inodes = set()
        for fd in Path(f"/proc/{proc}/fd").glob("*"):
            with contextlib.suppress(OSError):
                link = os.readlink(fd)
                if link.startswith("socket:["):
                    inodes.add(link[8:-1])
        for table in ("tcp", "tcp6"):
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{proc}/net/{table}").read_text().splitlines()[1:]:
                    cols = line.split()
                    if cols[9] in inodes:
                        out.add(_addr(cols[2]))
    return out


LOOPBACK_OR_NONE = {"127.0.0.1", "0.0.0.0", "::", "::1", "::ffff:127.0.0.1"}


class Sampler(threading.Thread):
    def __init__(self):
        super().__init__(daemon=True)
        self.pids: list[int] = []
        self.seen: Counter = Counter()
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            for pid in list(self.pids):
                with contextlib.suppress(Exception):
                    self.seen.update(remote_addresses(pid))
            time.sleep(0.05)


# --- moto, in this process -----------------------------------------------------------


class Ecs:
    """moto's ECS server on 127.0.0.1 and handles on its backend objects."""

    def __init__(self):
        from moto.moto_api import state_manager
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
        state_manager.set_transition("ecs::task", {"progression": "manual", "times": 10**9})
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        self.client = boto3.client(
            "ecs", region_name=REGION, endpoint_url=self.url, aws_access_key_id="e2e", aws_secret_access_key="e2e"
        )
        ec2 = boto3.client(
            "ec2", region_name=REGION, endpoint_url=self.url, aws_access_key_id="e2e", aws_secret_access_key="e2e"
        )
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
        self.subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/17")["Subnet"]["SubnetId"]
        self.sg = ec2.create_security_group(GroupName="tasks", Description="tasks", VpcId=vpc)["GroupId"]
        self.client.create_cluster(clusterName=CLUSTER)
        self.efs = boto3.client(
            "efs", region_name=REGION, endpoint_url=self.url, aws_access_key_id="e2e", aws_secret_access_key="e2e"
        )
        self.file_system = self.efs.create_file_system(CreationToken="homes", Encrypted=True)["FileSystemId"]
        register_families(self.client, PREFIX, self.file_system)
        self.never_healthy: set[str] = set()  # users whose tasks never turn HEALTHY
        self.stop_calls: Counter = Counter()
        self._wrap_stop_task()
        self._stop = threading.Event()
        self._health = threading.Thread(target=self._turn_healthy, daemon=True)
        self._health.start()

    @property
    def backend(self):
        from moto.ecs.models import ecs_backends

        return ecs_backends[ACCOUNT][REGION]

    def _wrap_stop_task(self):
        backend = self.backend
        real = backend.stop_task

        def counted(cluster_str, task_str, reason):
            self.stop_calls[task_str] += 1
            return real(cluster_str, task_str, reason)

        backend.stop_task = counted

    def tasks(self) -> dict:
        return dict(self.backend.tasks.get(CLUSTER, {}))

    def task(self, arn: str):
        return self.tasks()[arn]

    def tags(self, arn: str) -> dict:
        return {t["key"]: t["value"] for t in self.task(arn).tags or []}

    def arns_of(self, user: str, server: str = "") -> list[str]:
        want = server or "_default"
        return [
            arn
            for arn in self.tasks()
            if self.tags(arn).get("jupyterhub:user") == user and self.tags(arn).get("jupyterhub:server") == want
        ]

    def home_of(self, arn: str) -> tuple[str, str]:
        """The task's family and the access point its home volume names (EFS per-user homes)."""
        definition = self.client.describe_task_definition(taskDefinition=self.task(arn).task_definition_arn)
        definition = definition["taskDefinition"]
        (volume,) = definition["volumes"]
        return definition["family"], volume["efsVolumeConfiguration"]["authorizationConfig"].get("accessPointId", "")

    def access_points(self) -> dict[str, dict]:
        """This file system's access points: id -> tags."""
        points = self.efs.describe_access_points(FileSystemId=self.file_system)["AccessPoints"]
        return {p["AccessPointId"]: {t["Key"]: t["Value"] for t in p.get("Tags", [])} for p in points}

    def running(self) -> set[str]:
        return {a for a, t in self.tasks().items() if t.last_status == "RUNNING" and t.desired_status == "RUNNING"}

    def _turn_healthy(self):
        """What Fargate's agent does once the container's check passes, half a second after RUNNING."""
        while not self._stop.is_set():
            for arn, task in self.tasks().items():
                if getattr(task, "health_status", None) is None and task.last_status == "RUNNING":
                    if getattr(task, "created_at", None) is None:
                        task.created_at = datetime.now(UTC)
                    user = self.tags(arn).get("jupyterhub:user")
                    young = datetime.now(UTC) - task.created_at < timedelta(seconds=0.5)
                    if user not in self.never_healthy and not young:
                        task.health_status = "HEALTHY"
            time.sleep(0.1)

    def orphan(self, user: str, spawn_id: str) -> str:
        """A task of this hub that no server holds (its hub lost it), 10 hours old."""
        arn = self.client.run_task(
            cluster=CLUSTER,
            taskDefinition=f"{PREFIX}-lab-small",
            launchType="FARGATE",
            startedBy="jupyterhub-lost",
            tags=[
                {"key": "jupyterhub:hub-id", "value": HUB_ID},
                {"key": "jupyterhub:user", "value": user},
                {"key": "jupyterhub:server", "value": "_default"},
                {"key": "jupyterhub:spawn-id", "value": spawn_id},
            ],
            networkConfiguration={"awsvpcConfiguration": {"subnets": [self.subnet], "securityGroups": [self.sg]}},
        )["tasks"][0]["taskArn"]
        self.task(arn).created_at = datetime.now(UTC) - TEN_HOURS
        self.task(arn).health_status = "HEALTHY"
        return arn

    def close(self):
        from moto.moto_api import state_manager

        self._stop.set()
        self.server.stop()
        state_manager.unset_transition("ecs::task")


# --- the hub process -----------------------------------------------------------------


class Hub:
    def __init__(self, ecs: Ecs, state: Path, standin_port: int, sampler: Sampler):
        self.ecs, self.state, self.sampler = ecs, state, sampler
        self.token = secrets.token_hex(16)
        self.public = free_port()
        self.record = state / "spawns.jsonl"
        self.proxy_api, self.proxy_token = free_port(), secrets.token_hex(16)
        self.standin_port = standin_port
        self.proc: subprocess.Popen | None = None
        self.logs: list[Path] = []

    def env(self, **extra: str) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            PATH=f"{ROOT / 'node_modules' / '.bin'}:{Path(sys.executable).parent}:{env.get('PATH', '')}",
            PYTHONPATH=f"{HERE}:{ROOT}",
            AWS_ENDPOINT_URL=self.ecs.url,
            AWS_ACCESS_KEY_ID="e2e",
            AWS_SECRET_ACCESS_KEY="e2e",
            AWS_REGION=REGION,
            AWS_EC2_METADATA_DISABLED="true",
            CONFIGPROXY_AUTH_TOKEN=self.proxy_token,
            ECS_CLUSTER=CLUSTER,
            TASK_SUBNETS=self.ecs.subnet,
            TASK_SECURITY_GROUPS=self.ecs.sg,
            EFS_FILE_SYSTEM_ID=self.ecs.file_system,
            FAMILY_PREFIX=PREFIX,
            HUB_ID=HUB_ID,
            REAPER_DRY_RUN="1",
            E2E_REPO=str(ROOT),
            E2E_CATALOG=str(HUB_CATALOG_SERVICES.parent),
            E2E_STATE=str(self.state),
            E2E_RECORD=str(self.record),
            E2E_STANDIN_PORT=str(self.standin_port),
            E2E_PUBLIC_PORT=str(self.public),
            E2E_HUB_PORT=str(free_port()),
            E2E_PROXY_API_PORT=str(self.proxy_api),
            E2E_CHP=str(CHP),
            E2E_TOKEN=self.token,
        )
        env.update(extra)
        return env

    def start(self, **env: str) -> None:
        log = self.state / f"hub-{len(self.logs)}.log"
        self.logs.append(log)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(HERE / "hub_config.py")],
            cwd=self.state,
            env=self.env(**env),
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        self.sampler.pids.append(self.proc.pid)
        wait_for("the hub to answer", self._up, timeout=40)

    def _up(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"the hub exited with {self.proc.returncode}:\n{self.log()[-3000:]}")
        with contextlib.suppress(requests.RequestException):
            return self.get("/hub/api/").status_code == 200
        return False

    def stop(self) -> None:
        self.sampler.seen.update(remote_addresses(self.proc.pid))
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        self.sampler.pids.remove(self.proc.pid)

    def log(self) -> str:
        return self.logs[-1].read_text(errors="replace")

    def all_logs(self) -> str:
        return "".join(p.read_text(errors="replace") for p in self.logs)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.public}{path}"

    def get(self, path: str, **kw) -> requests.Response:
        return requests.get(self.url(path), headers={"Authorization": f"token {self.token}"}, timeout=10, **kw)

    def post(self, path: str, body: dict | None = None) -> requests.Response:
        return requests.post(self.url(path), headers={"Authorization": f"token {self.token}"}, json=body, timeout=10)

    def delete(self, path: str) -> requests.Response:
        return requests.delete(self.url(path), headers={"Authorization": f"token {self.token}"}, timeout=10)

    def servers(self, user: str) -> dict:
        reply = self.get(f"/hub/api/users/{user}")
        return reply.json().get("servers", {}) if reply.status_code == 200 else {}

    def ready(self, user: str, server: str = "") -> bool:
        return bool(self.servers(user).get(server, {}).get("ready"))

    def spawn(self, user: str, server: str, options: dict) -> requests.Response:
        self.post(f"/hub/api/users/{user}")
        return self.post(f"/hub/api/users/{user}/servers/{server}", options)

    def progress(self, user: str, server: str = "") -> list[dict]:
        events = []
        with self.get(f"/hub/api/users/{user}/servers/{server}/progress", stream=True) as reply:
            assert reply.status_code == 200, reply.text
            for line in reply.iter_lines(decode_unicode=True):
                if line and line.startswith("data:"):
                    event = json.loads(line[5:])
                    events.append(event)
                    if event.get("ready") or event.get("failed"):
                        break
        return events

    def metric(self, name: str, **labels: str) -> float:
        text = self.get("/hub/metrics").text
        want = ",".join(f'{k}="{v}"' for k, v in labels.items())
        pattern = rf"^{re.escape(name)}{re.escape('{' + want + '}') if want else ''} (\S+)$"
        match = re.search(pattern, text, re.M)
        return float(match.group(1)) if match else 0.0

    def proxy_targets(self) -> list[str]:
        routes = requests.get(
            f"http://127.0.0.1:{self.proxy_api}/api/routes",
            headers={"Authorization": f"token {self.proxy_token}"},
            timeout=5,
        ).json()
        return [r["target"] for r in routes.values()]


class _Form(HTMLParser):
    def __init__(self):
        super().__init__()
        self.groups: dict[str, list[str]] = {}
        self.xsrf = ""
        self.scripts_in_form = 0
        self._group = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "optgroup":
            self._group = attrs["label"].split(":")[0]
            self.groups[self._group] = []
        elif tag == "option" and self._group:
            self.groups[self._group].append(attrs["value"])
        elif tag == "input" and attrs.get("name") == "_xsrf":
            self.xsrf = attrs["value"]


# --- the test ------------------------------------------------------------------------


@pytest.fixture
def world(tmp_path):
    if not CHP.exists():
        pytest.fail(f"{CHP} is missing: run `make setup` (npm ci installs configurable-http-proxy)")
    ecs = Ecs()
    standin = ThreadingHTTPServer(("127.0.0.1", 0), _StandIn)
    threading.Thread(target=standin.serve_forever, daemon=True).start()
    sampler = Sampler()
    sampler.start()
    hub = Hub(ecs, tmp_path, standin.server_address[1], sampler)
    try:
        yield hub
    finally:
        if hub.proc is not None and hub.proc.poll() is None:
            hub.proc.kill()
            hub.proc.wait()
        for pid in _children(os.getpid()) - {os.getpid()}:  # a proxy left by a killed hub
            with contextlib.suppress(OSError):
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                if b"configurable-http-proxy" in cmdline and str(hub.proxy_api).encode() in cmdline:
                    os.kill(pid, signal.SIGTERM)
        sampler.done.set()
        standin.shutdown()
        ecs.close()


def test_spawner_in_a_real_jupyterhub(world):
    hub, ecs = world, world.ecs
    began = time.monotonic()

    # --- bad configuration: no hub_id -> the example config refuses to load, clearly
    refused = subprocess.run(
        [sys.executable, "-m", "jupyterhub", "-f", str(HERE / "hub_config.py")],
        cwd=hub.state,
        env=hub.env(HUB_ID=""),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode != 0
    assert "set HUB_ID to a name unique to this hub" in refused.stdout + refused.stderr

    # --- hub 1: reaper in dry run, started with the hub before any user exists (defect 9)
    dry_orphan = ecs.orphan("ghost", "lost-1")
    hub.start()
    wait_for("a would-stop decision in the hub's log", lambda: f"orphan reaper: would-stop {dry_orphan}" in hub.log())
    assert "orphan reaper for hub e2e-hub: every 1 s, dry_run=True" in hub.log()
    assert dry_orphan in ecs.running() and ecs.stop_calls[dry_orphan] == 0
    # start-up warning: start_timeout 8 s cannot cover chat's and waiide's simulated time to HEALTHY
    assert "start_timeout 8 s is shorter than service 'chat''s simulated worst-case time to HEALTHY, 54 s" in hub.log()
    assert "service 'waiide''s simulated" in hub.log() and "service 'lab''s simulated" not in hub.log()

    # --- spawn through the REST API, with the progress stream (chat waits for HEALTHY)
    assert hub.spawn("alice", "", {"service": "chat", "size": "small"}).status_code in (201, 202)
    events = hub.progress("alice")
    messages = [e["message"] for e in events]
    assert events[-1].get("ready"), messages
    assert any(m.startswith("Requesting a small chat task (calliope-hub-dev-chat-small)") for m in messages)
    assert "Task running" in messages and "Waiting for the container health check" in messages
    assert not any(re.search(r"\b10\.\d+\.\d+\.\d+\b", m) for m in messages)  # defect 10
    wait_for("alice ready", lambda: hub.ready("alice"))
    assert "Received unhandled user_options" not in hub.log()  # defect 5

    # --- issue 9.9: no token in RunTask's overrides; the single-use code there works once, then never
    (alice_arn,) = ecs.arns_of("alice")
    (box,) = ecs.task(alice_arn).overrides["containerOverrides"]
    env = {e["name"]: e["value"] for e in box["environment"]}
    assert "JUPYTERHUB_API_TOKEN" not in env and "JPY_API_TOKEN" not in env
    exchange = hub.url("/hub/api/ecsspawner/bootstrap")
    first = requests.post(exchange, json={"code": env["ECSSPAWNER_BOOTSTRAP_CODE"]}, timeout=10)
    assert first.status_code == 200, first.text
    server_token = first.json()["token"]
    assert not any(server_token in value for value in env.values())
    whoami = requests.get(hub.url("/hub/api/user"), headers={"Authorization": f"token {server_token}"}, timeout=10)
    assert whoami.status_code == 200 and whoami.json()["name"] == "alice"
    for value in env.values():  # nothing the overrides show fetches a token or authenticates any more
        assert requests.post(exchange, json={"code": value}, timeout=10).status_code == 403
        assert (
            requests.get(hub.url("/hub/api/user"), headers={"Authorization": f"token {value}"}, timeout=10).status_code
            == 403
        )

    # --- named servers
    assert hub.spawn("alice", "work", {"service": "waiide", "size": "small"}).status_code in (201, 202)
    assert hub.spawn("alice", "notes", {"service": "lab", "size": "large"}).status_code in (201, 202)
    wait_for("alice's named servers", lambda: hub.ready("alice", "work") and hub.ready("alice", "notes"))
    (work_arn,) = ecs.arns_of("alice", "work")
    assert ecs.task(work_arn).task_definition_arn.endswith(f"{PREFIX}-waiide-small:1")
    # lab has per-user EFS homes: alice's server runs her own family, whose home volume names her access point
    (notes_arn,) = ecs.arns_of("alice", "notes")
    family, alice_point = ecs.home_of(notes_arn)
    assert family == user_family(f"{PREFIX}-lab-large", HUB_ID, "alice")
    assert ecs.access_points()[alice_point]["jupyterhub:user"] == "alice"

    # --- the spawn form, without JavaScript: log in as bob, read the form, post it
    browser = requests.Session()
    login = browser.get(hub.url("/hub/login"), timeout=10)
    xsrf = browser.cookies.get("_xsrf") or ""
    reply = browser.post(
        hub.url("/hub/login"),
        data={"username": "bob", "password": "any", "_xsrf": xsrf},
        allow_redirects=False,
        timeout=10,
    )
    assert login.status_code == 200 and reply.status_code == 302, reply.text
    form = _Form()
    page = browser.get(hub.url("/hub/spawn"), timeout=10)
    form.feed(page.text)
    assert form.groups["chat"] == ["chat/small", "chat/medium"]  # defect 6: no xlarge for chat
    assert form.groups["lab"] == [f"lab/{s}" for s in ("small", "medium", "large", "xlarge")]
    reply = browser.post(
        hub.url("/hub/spawn"),
        data={"choice": "lab/small", "_xsrf": form.xsrf or browser.cookies.get("_xsrf")},
        allow_redirects=False,
        timeout=10,
    )
    assert reply.status_code == 302, reply.text
    wait_for("bob ready", lambda: hub.ready("bob"))
    (bob_arn,) = ecs.arns_of("bob")
    family, bob_point = ecs.home_of(bob_arn)
    assert family == user_family(f"{PREFIX}-lab-small", HUB_ID, "bob")
    assert bob_point != alice_point and ecs.access_points()[bob_point]["jupyterhub:user"] == "bob"
    assert ecs.task(bob_arn).task_definition_arn.endswith(f"{family}:1")  # run by exact revision

    # --- bad options through the API: refused before anything runs, with the choices
    bad = hub.spawn("carol", "", {"service": "chat", "size": "xlarge"})
    assert bad.status_code == 400
    assert "service 'chat' has no size 'xlarge'; choose one of: small, medium" in bad.json()["message"]
    assert ecs.arns_of("carol") == []

    # --- the hub never connected to a task's address: the proxy routes to the stand-in
    records = [json.loads(line) for line in hub.record.read_text().splitlines()]
    assert {r["user"] for r in records} == {"alice", "bob"} and len(records) == 4
    assert all(r["task"][0].startswith("10.") and r["hub"][0] == "127.0.0.1" for r in records)
    targets = hub.proxy_targets()
    assert len(targets) >= 5 and all(t.startswith("http://127.0.0.1:") for t in targets), targets

    # --- a task stopped behind the hub's back: the server goes, with its exit code, once
    stopped_before = hub.metric("ecsspawner_poll_results_total", result="stopped")
    task = ecs.task(work_arn)
    task.last_status = task.desired_status = "STOPPED"
    task.stop_code, task.stopped_reason = "EssentialContainerExited", "OutOfMemoryError: container killed"
    task.containers[0].exitCode = 137
    wait_for("alice/work dropped", lambda: "work" not in hub.servers("alice"), timeout=15)
    assert (
        "(EssentialContainerExited: OutOfMemoryError: container killed; container notebook exited with code 137); "
        "exit code 137" in hub.log()
    )
    assert hub.metric("ecsspawner_poll_results_total", result="stopped") == stopped_before + 1  # defect 7
    assert ecs.stop_calls[work_arn] == 0

    # --- UNHEALTHY while running: the spawner stops the task, once
    ecs.task(bob_arn).health_status = "UNHEALTHY"
    wait_for("bob dropped", lambda: "" not in hub.servers("bob"), timeout=15)
    assert ecs.task(bob_arn).last_status == "STOPPED"
    assert "UNHEALTHY" in ecs.task(bob_arn).stopped_reason
    time.sleep(1.5)  # another poll round: still one StopTask
    assert ecs.stop_calls[bob_arn] == 1  # defect 7

    # --- a start that never turns HEALTHY: a message that says why (defect 3)
    ecs.never_healthy.add("dave")
    assert hub.spawn("dave", "", {"service": "chat", "size": "small"}).status_code in (201, 202)
    failed = hub.progress("dave")[-1]
    assert failed.get("failed"), failed
    assert "last health status UNKNOWN" in failed["message"]
    assert "(interval 15 s, timeout 10 s, retries 8, start period 45 s)" in failed["message"]
    assert "should report HEALTHY by 54 s (simulated" in failed["message"]
    (dave_arn,) = ecs.arns_of("dave")
    wait_for("dave's task stopped", lambda: ecs.task(dave_arn).last_status == "STOPPED")

    # --- /hub/metrics
    assert hub.metric("ecsspawner_time_to_healthy_seconds_count", service="chat", size="small") == 1
    assert hub.metric("ecsspawner_time_to_running_seconds_count", service="lab", size="large") == 1
    assert hub.metric("ecsspawner_reaper_decisions_total", decision="would-stop") >= 1
    assert hub.metric("ecsspawner_orphans_stopped_total") == 0

    # --- hub restart, servers kept (cleanup_servers = False from the example); reaper for real
    kept = {a for a in ecs.arns_of("alice") + ecs.arns_of("alice", "notes") if a in ecs.running()}
    assert len(kept) == 2
    stops_before = sum(ecs.stop_calls.values())
    hub.stop()
    assert "Cleaning up single-user servers" not in hub.log()  # defect 1
    assert kept <= ecs.running() and sum(ecs.stop_calls.values()) == stops_before
    hub.start(REAPER_DRY_RUN="0")
    assert hub.ready("alice") and hub.ready("alice", "notes")
    wait_for("the true orphan stopped", lambda: ecs.task(dry_orphan).last_status == "STOPPED", timeout=15)
    assert "orphan" in ecs.task(dry_orphan).stopped_reason
    assert f"orphan reaper: stopped {dry_orphan}" in hub.log()  # defect 2: the reaper's lines are in the hub log
    time.sleep(2.5)  # more sweeps and polls: the held servers stay
    assert kept <= ecs.running() and all(ecs.stop_calls[a] == 0 for a in kept)
    assert hub.metric("ecsspawner_orphans_stopped_total") == 1
    assert f"orphan reaper: held {sorted(kept)[0]}" in hub.log()

    # --- stopping through the API stops the tasks (the idle culler's path)
    assert hub.delete("/hub/api/users/alice/servers/notes").status_code in (202, 204)
    wait_for("alice/notes stopped", lambda: "notes" not in hub.servers("alice"))
    assert notes_arn in kept
    assert ecs.task(notes_arn).last_status == "STOPPED" and ecs.stop_calls[notes_arn] == 1

    # --- the restarted hub finds alice's home again by its tags: same access point, no new one
    assert hub.spawn("alice", "again", {"service": "lab", "size": "small"}).status_code in (201, 202)
    wait_for("alice/again ready", lambda: hub.ready("alice", "again"))
    (again_arn,) = ecs.arns_of("alice", "again")
    assert ecs.home_of(again_arn) == (user_family(f"{PREFIX}-lab-small", HUB_ID, "alice"), alice_point)
    assert sorted(ecs.access_points()) == sorted([alice_point, bob_point])
    hub.stop()

    # --- bad configuration: a wrong cluster name -> the AWS call and code, no traceback (defect 4)
    hub.start(ECS_CLUSTER="no-such-cluster")
    assert hub.spawn("erin", "", {"service": "lab", "size": "small"}).status_code in (201, 202, 500)
    failed = hub.progress("erin")[-1]
    assert failed.get("failed") and "ECS ListTasks failed: ClusterNotFoundException" in failed["message"], failed
    assert "Unhandled error starting" not in hub.log() and "Traceback" not in hub.log()
    hub.stop()

    # --- every connection the hub and its proxy made went to 127.0.0.1
    assert "127.0.0.1" in hub.sampler.seen, hub.sampler.seen  # the sampler does see the hub's connections
    assert set(hub.sampler.seen) <= LOOPBACK_OR_NONE, hub.sampler.seen
    assert time.monotonic() - began < 170

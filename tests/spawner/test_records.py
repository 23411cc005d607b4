"""One structured record per spawn (ecsspawner/records.py), to the hub log and to spawn_record_file."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest
from jupyterhub.spawner import SpawnException
from prometheus_client import REGISTRY

from ecsspawner.records import RECORD_KIND, RECORD_VERSION, SpawnRecorder
from hubspec.health.tune import StartupStats
from tests.catalogs import HUB_CATALOG_SERVICES, HUB_CATALOG_SIZES

HEALTHY_AFTER = 0.05  # seconds after RunTask at which the test's "ECS" reports HEALTHY


def run(coro):
    return asyncio.run(coro)


async def spawn_and_turn_healthy(hub, aws, user: str, options: dict, server: str = ""):
    """hub.spawn, while ECS (moto) turns the task HEALTHY a little after it is RUNNING."""
    spawner = hub.spawner(hub.user(user), server)

    async def healthy_soon():
        while not spawner.task_arn:
            await asyncio.sleep(0.005)
        await asyncio.sleep(HEALTHY_AFTER)
        aws.task(spawner.task_arn).health_status = "HEALTHY"

    await asyncio.gather(hub.spawn(hub.user(user), server, options), healthy_soon())
    return spawner


async def spawn_that_stops(hub, aws, user: str, options: dict):
    spawner = hub.spawner(hub.user(user), "")

    async def stop_when_launched():
        while not spawner.task_arn:
            await asyncio.sleep(0.005)
        aws.stop_behind_hubs_back(spawner.task_arn, exit_code=1, reason="CannotPullContainerError: pull access denied")
        aws.task(spawner.task_arn).stop_code = "TaskFailedToStart"

    with pytest.raises(SpawnException):
        await asyncio.gather(hub.spawn(hub.user(user), "", options), stop_when_launched())
    return spawner


class Lines(logging.Handler):
    """The messages a spawner logs (its logger is the hub's; it may not propagate to caplog)."""

    def __init__(self, spawner) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.logger = spawner.log
        self.level_before = self.logger.level
        self.logger.setLevel(logging.INFO)
        self.logger.addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())

    def close(self) -> None:
        self.logger.removeHandler(self)
        self.logger.setLevel(self.level_before)
        super().close()


def read_records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def make_spawn_records(hub_with, aws, path: Path) -> list[dict]:
    """Three waiide/small spawns that turn HEALTHY, one lab/small (no health wait), one chat start that stops."""
    hub = hub_with(spawn_record_file=str(path))

    async def scenario():
        for n in range(3):
            await spawn_and_turn_healthy(hub, aws, f"w{n}", {"service": "waiide", "size": "small"})
        await hub.spawn(hub.user("l0"), "", {"service": "lab", "size": "small"})
        await spawn_that_stops(hub, aws, "c0", {"service": "chat", "size": "small"})

    run(scenario())
    return read_records(path)


@pytest.fixture
def spawn_records(hub_with, aws, tmp_path):
    path = tmp_path / "spawns.jsonl"
    return path, make_spawn_records(hub_with, aws, path)


def spawns_counted(service: str, size: str, outcome: str) -> float:
    labels = {"service": service, "size": size, "outcome": outcome}
    return REGISTRY.get_sample_value("ecsspawner_spawns_total", labels) or 0.0


def test_each_record_counts_once_in_the_spawns_metric_by_outcome(hub_with, aws, tmp_path):
    keys = [("waiide", "small", "ready"), ("lab", "small", "ready"), ("chat", "small", "failed")]
    before = {k: spawns_counted(*k) for k in keys}
    make_spawn_records(hub_with, aws, tmp_path / "spawns.jsonl")
    assert {k: spawns_counted(*k) - before[k] for k in keys} == {k: n for k, n in zip(keys, (3, 1, 1), strict=True)}


def test_each_spawn_appends_one_record_with_times_outcome_and_stop_code(spawn_records, aws):
    path, records = spawn_records
    assert len(path.read_text(encoding="utf-8").splitlines()) == 5  # one line per spawn, nothing else
    assert [(r["service"], r["size"], r["outcome"]) for r in records] == [
        ("waiide", "small", "ready"),
        ("waiide", "small", "ready"),
        ("waiide", "small", "ready"),
        ("lab", "small", "ready"),
        ("chat", "small", "failed"),
    ]
    for record in records:
        assert record["record"] == RECORD_KIND and record["version"] == RECORD_VERSION
        assert record["hub_id"] == aws.HUB_ID and record["family"] == f"{aws.PREFIX}-{record['service']}-small"
    healthy = records[:3]
    for r in healthy:
        assert r["prefer_ecs_health"] is True and r["reason"] is None and r["stop_code"] is None
        assert 0 <= r["time_to_running_seconds"] < r["time_to_healthy_seconds"]
        assert r["time_to_healthy_seconds"] >= HEALTHY_AFTER * 0.9
    lab = records[3]
    assert lab["prefer_ecs_health"] is False and lab["time_to_healthy_seconds"] is None
    assert lab["time_to_running_seconds"] is not None and lab["task_arn"].startswith("arn:aws:ecs:")
    failed = records[4]
    assert failed["reason"] == "task-stopped" and failed["time_to_healthy_seconds"] is None
    assert failed["stop_code"] == "TaskFailedToStart"
    assert failed["stopped_reason"] == "CannotPullContainerError: pull access denied"
    assert "CannotPullContainerError" in failed["message"]


def test_the_record_goes_to_the_hub_log_without_a_file(hub, aws):
    log = Lines(hub.spawner(hub.user("logan"), "x"))

    async def scenario():
        return await spawn_and_turn_healthy(hub, aws, "logan", {"service": "waiide", "size": "medium"}, "x")

    try:
        spawner = run(scenario())
    finally:
        log.close()
    lines = [line for line in log.lines if "spawn record" in line]
    assert len(lines) == 1
    record = json.loads(lines[0].split("spawn record: ", 1)[1])
    assert (record["user"], record["server"], record["size"], record["outcome"]) == ("logan", "x", "medium", "ready")
    assert record["task_arn"] == spawner.task_arn and record["spawn_id"] == spawner.spawn_id


def test_an_aws_refusal_before_runtask_is_a_failed_record_without_times(hub_with, aws, tmp_path):
    path = tmp_path / "spawns.jsonl"
    hub = hub_with(spawn_record_file=str(path))
    client, stub = aws.stubbed()
    stub.add_client_error(
        "list_tasks", service_error_code="ClusterNotFoundException", service_message="Cluster not found."
    )
    stub.activate()
    spawner = hub.spawner(hub.user("olga"), "")
    spawner.client_factory = lambda: client
    with pytest.raises(SpawnException):
        run(spawner.start())
    (record,) = read_records(path)
    assert record["outcome"] == "failed" and record["reason"] == "aws-error"
    assert "ClusterNotFoundException" in record["message"]
    assert record["task_arn"] is None and record["time_to_running_seconds"] is None


def test_an_unwritable_record_file_is_logged_and_the_spawn_still_succeeds(hub_with, aws, tmp_path):
    hub = hub_with(spawn_record_file=str(tmp_path / "missing-dir" / "spawns.jsonl"))
    log = Lines(hub.spawner(hub.user("uma"), ""))
    try:
        spawner = run(hub.spawn(hub.user("uma"), "", {"service": "lab", "size": "small"}))
    finally:
        log.close()
    assert spawner.task_arn
    assert any("cannot append the spawn record" in line for line in log.lines)


def test_recorder_cancelled_and_once_only():
    clock = iter([0.0, 1.0, 2.0, 3.0]).__next__
    rec = SpawnRecorder(
        hub_id="h",
        user="u",
        server="",
        service="s",
        size="small",
        family="p-s-small",
        prefer_ecs_health=True,
        spawn_id="id",
        clock=clock,
    )
    rec.launched()
    rec.saw(
        {"lastStatus": "RUNNING", "attachments": [{"details": [{"name": "privateIPv4Address", "value": "10.0.0.9"}]}]}
    )
    rec.saw(
        {
            "lastStatus": "RUNNING",
            "healthStatus": "HEALTHY",
            "attributes": [{"name": "ecs.cpu-architecture", "value": "ARM64"}],
            "attachments": [{"details": [{"name": "privateIPv4Address", "value": "10.0.0.9"}]}],
        }
    )
    record = rec.finish(asyncio.CancelledError())
    assert record is not None
    assert (record["time_to_running_seconds"], record["time_to_healthy_seconds"]) == (1.0, 2.0)
    assert (record["outcome"], record["cpu_architecture"]) == ("cancelled", "ARM64")
    assert rec.finish(None) is None


# --- the spawner's own records, read by the toolkit --------------------------------------------


def hubspec(*argv: str) -> int:
    from hubspec.cli import main

    return main([*argv, "--services-dir", str(HUB_CATALOG_SERVICES), "--sizes-file", str(HUB_CATALOG_SIZES)])


def test_tune_and_observed_read_the_spawners_records(spawn_records, capsys):
    path, records = spawn_records
    startups = sorted(r["time_to_healthy_seconds"] - r["time_to_running_seconds"] for r in records[:3])

    assert hubspec("tune", "waiide", "--samples", str(path), "--size", "small") == 0
    out = capsys.readouterr().out
    assert f"waiide: 3 start-up samples from {path}" in out
    p95 = StartupStats.of(startups).p95  # nearest rank of HEALTHY - RUNNING per ready spawn
    assert f"P95 {p95:g} s (nearest rank), slowest {startups[-1]:g} s" in out

    assert hubspec("tune", "lab", "--samples", str(path)) == 1  # lab does not wait for HEALTHY: no samples
    assert "no start-up samples for lab: 1 record(s), 1 ready" in capsys.readouterr().err

    assert hubspec("observed", str(path), "--format", "json") == 0
    groups = {(g["service"], g["size"]): g for g in json.loads(capsys.readouterr().out)["groups"]}
    assert set(groups) == {("waiide", "small"), ("lab", "small"), ("chat", "small")}
    waiide = groups[("waiide", "small")]
    assert (waiide["spawns"], waiide["ready"], waiide["success_rate_percent"]) == (3, 3, 100.0)
    healthy = sorted(r["time_to_healthy_seconds"] for r in records[:3])
    assert waiide["time_to_healthy_seconds"]["p50"] == round(healthy[1], 1)  # nearest rank: the 2nd of 3
    assert waiide["time_to_healthy_seconds"]["p99"] == round(healthy[2], 1)
    assert waiide["misses"] == []
    chat = groups[("chat", "small")]
    assert chat["success_rate_percent"] == 0.0 and chat["misses"] == ["success rate 0.0 % is not above the target 95 %"]
    assert groups[("lab", "small")]["time_to_healthy_seconds"] == {"p50": None, "p95": None, "p99": None}

    assert hubspec("observed", str(path)) == 0
    text = capsys.readouterr().out
    assert "MISS chat × small: success rate 0.0 % is not above the target 95 %" in text

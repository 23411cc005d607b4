"""start / poll / stop of one server against moto's ECS, with JupyterHub's User.stop."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from jupyterhub.spawner import SpawnException
from prometheus_client import REGISTRY
from tornado import web

from ecsspawner import reader as reader_module
from ecsspawner.homes import user_family
from ecsspawner.identity import TAG_HUB, TAG_INSTALL, TAG_SERVER, TAG_SPAWN, TAG_USER, ServerIdentity
from ecsspawner.install import install_id

HUB_ID, PREFIX = "hub-a", "test-hub"  # as in conftest.py


def run(coro):
    return asyncio.run(coro)


def test_start_poll_stop_poll(hub, aws):
    running_count = lambda: (
        REGISTRY.get_sample_value("ecsspawner_time_to_running_seconds_count", {"service": "lab", "size": "small"}) or 0
    )
    before = running_count()

    async def scenario():
        alice = hub.user("alice")
        spawner = await hub.spawn(alice, "", {"service": "lab", "size": "small"})
        arn = spawner.task_arn
        assert aws.running() == {arn}
        assert await spawner.poll() is None
        assert running_count() == before + 1
        saved = alice.orm_spawners[""].state
        assert saved["task_arn"] == arn and saved["cluster"] == aws.cluster and saved["spawn_id"] == spawner.spawn_id
        await alice.stop("")  # JupyterHub's own: poll, stop, clear_state, save state
        assert aws.task(arn).last_status == "STOPPED"
        assert alice.orm_spawners[""].state == {}
        assert await spawner.poll() == 0
        return arn

    arn = run(scenario())
    assert arn.startswith("arn:aws:ecs:us-east-1:123456789012:task/")


def test_launch_uses_family_identity_tags_and_hub_environment(hub, aws):
    async def scenario():
        bob = hub.user("bob")
        return await hub.spawn(bob, "exp", {"service": "lab", "size": "large"})

    spawner = run(scenario())
    task = aws.task(spawner.task_arn)
    # lab has a per-user EFS home: the user's own family, a copy of the synthesized one (test_homes.py)
    assert task.task_definition_arn.split("/")[-1] == f"{user_family(f'{PREFIX}-lab-large', HUB_ID, 'bob')}:1"
    ident = ServerIdentity(HUB_ID, "bob", "exp")
    assert task.started_by == ident.started_by
    assert len(task.started_by) <= 128
    tags = {t["key"]: t["value"] for t in task.tags}
    assert tags == {
        TAG_HUB: HUB_ID,
        TAG_USER: "bob",
        TAG_SERVER: "exp",
        TAG_SPAWN: spawner.spawn_id,
        TAG_INSTALL: install_id(hub.db, HUB_ID),
    }
    assert len(spawner.install_id) == 32
    (override,) = task.overrides["containerOverrides"]
    env = {e["name"]: e["value"] for e in override["environment"]}
    assert override["name"] == "notebook"
    assert env["JUPYTERHUB_SERVICE_PREFIX"] == "/user/bob/exp/"
    assert env["JUPYTERHUB_USER"] == "bob" and env["JUPYTERHUB_SERVER_NAME"] == "exp"


def test_started_by_is_unique_per_server_and_valid_for_ecs():
    keys = {ServerIdentity(h, u, s).started_by for h in ("a", "b") for u in ("x", "x/y", "é" * 300) for s in ("", "n")}
    assert len(keys) == 12
    assert all(len(k) <= 128 and k.replace("-", "").replace("_", "").isalnum() for k in keys)


def test_default_options_take_the_default_service_and_its_default_size(hub, aws):
    spawner = run(hub.spawn(hub.user("carol")))
    family = user_family(f"{PREFIX}-lab-medium", HUB_ID, spawner.user.name)
    assert aws.task(spawner.task_arn).task_definition_arn.split("/")[-1] == f"{family}:1"


@pytest.mark.parametrize(
    "options, message",
    [
        ({"service": "nope"}, "unknown service 'nope'; choose one of: chat, lab, waiide"),
        ({"service": "chat", "size": "xlarge"}, "service 'chat' has no size 'xlarge'; choose one of: small, medium"),
    ],
)
def test_unknown_service_or_size_is_a_clear_error_and_launches_nothing(hub, aws, options, message):
    """apply_user_options refuses the options before start(): HTTP 400 naming the choices."""
    with pytest.raises(web.HTTPError) as err:
        run(hub.spawn(hub.user("dave"), "", options))
    assert err.value.status_code == 400 and err.value.get_message() == message
    assert aws.tasks() == {}


def test_start_without_the_hook_still_refuses_unknown_options(hub, aws):
    spawner = hub.spawner(hub.user("dave"), "")
    spawner.user_options = {"service": "chat", "size": "xlarge"}
    with pytest.raises(SpawnException) as err:
        run(spawner.start())
    assert err.value.status_code == 400 and "choose one of: small, medium" in err.value.message
    assert aws.tasks() == {}


def test_ghost_task_stopped_behind_the_hubs_back_is_seen_with_its_exit_code(hub, aws, caplog):
    async def scenario():
        spawner = await hub.spawn(hub.user("erin"), "", {"service": "lab"})
        assert await spawner.poll() is None
        aws.stop_behind_hubs_back(spawner.task_arn, exit_code=137, reason="OutOfMemoryError: container killed")
        reader_module.reset_shared()  # no cached answer: the next round reads ECS again
        return await spawner.poll()

    assert run(scenario()) == 137
    assert "EssentialContainerExited: OutOfMemoryError: container killed" in caplog.text


def test_unhealthy_task_is_stopped_by_the_spawner_and_reported_dead(hub, aws):
    async def scenario():
        spawner = await hub.spawn(hub.user("frank"), "", {"service": "lab"})
        aws.task(spawner.task_arn).health_status = "UNHEALTHY"
        reader_module.reset_shared()
        return spawner, await spawner.poll()

    spawner, status = run(scenario())
    assert status == 1
    assert aws.task(spawner.task_arn).last_status == "STOPPED"
    assert "UNHEALTHY" in aws.task(spawner.task_arn).stopped_reason


def test_hub_restart_restores_state_and_polls_correctly(hub, aws):
    alice = hub.user("alice")
    first = run(hub.spawn(alice, "work", {"service": "lab"}))
    arn = first.task_arn

    reader_module.reset_shared()
    restarted = hub.restart()
    spawner = restarted.users["alice"].spawners["work"]  # what app.init_spawners does for a saved server
    assert spawner is not first
    assert (spawner.task_arn, spawner.task_cluster, spawner.spawn_id) == (arn, aws.cluster, first.spawn_id)
    assert run(spawner.poll()) is None
    aws.stop_behind_hubs_back(arn, exit_code=3)
    reader_module.reset_shared()
    assert run(spawner.poll()) == 3


def test_poll_without_state_returns_0_and_calls_nothing(hub, aws):
    spawner = hub.spawner(hub.user("gina"), "")
    client_calls = []
    spawner.client_factory = lambda: client_calls.append(1)  # any AWS use would call this
    assert run(spawner.poll()) == 0
    assert client_calls == [] and aws.tasks() == {}


def test_task_stopping_during_start_raises_with_its_stopped_reason(hub, aws):
    async def scenario():
        spawner = hub.spawner(hub.user("hank"), "")
        spawner.user_options = {"service": "chat"}  # prefer_ecs_health: waits for HEALTHY

        async def kill_when_launched():
            while not spawner.task_arn:
                await asyncio.sleep(0.005)
            aws.stop_behind_hubs_back(
                spawner.task_arn, exit_code=1, reason="CannotPullContainerError: pull access denied"
            )

        spawner.server = None
        await asyncio.gather(spawner.start(), kill_when_launched())

    with pytest.raises(SpawnException, match="CannotPullContainerError: pull access denied"):
        run(scenario())


def test_prefer_ecs_health_waits_for_healthy_and_reports_each_phase(hub, aws):
    """moto starts tasks RUNNING; a botocore hook makes the new task PENDING and pulling, as Fargate does."""
    client = aws.client()

    def provisioning(parsed, **_):
        task = aws.task(parsed["tasks"][0]["taskArn"])
        task.last_status = "PENDING"
        task.pull_started_at = datetime.now(UTC)

    client.meta.events.register("after-call.ecs.RunTask", provisioning)
    healthy = lambda: (
        REGISTRY.get_sample_value("ecsspawner_time_to_healthy_seconds_count", {"service": "waiide", "size": "small"})
        or 0
    )
    before = healthy()

    async def scenario():
        spawner = hub.spawner(hub.user("ivy"), "")
        spawner.user_options = {"service": "waiide", "size": "small"}
        events = []

        async def drive_task():
            async for event in spawner.progress():
                events.append(event)
                task = aws.task(spawner.task_arn) if spawner.task_arn else None
                if event["message"].startswith("Pulling"):
                    task.pull_stopped_at, task.last_status = datetime.now(UTC), "RUNNING"
                elif event["message"].startswith("Waiting for the container health check"):
                    task.health_status = "HEALTHY"

        started, _ = await asyncio.gather(spawner.start(), drive_task())
        return spawner, started, events

    try:
        spawner, (ip, port), events = run(scenario())
    finally:
        client.meta.events.unregister("after-call.ecs.RunTask", provisioning)
    assert port == 8070
    assert ip == aws.task(spawner.task_arn).attachments[0]["details"][4]["value"]
    assert [(e["progress"], e["message"].split(" ")[0]) for e in events] == [
        (10, "Requesting"),
        (35, "Pulling"),
        (70, "Task"),
        (85, "Waiting"),
        (100, "Health"),
    ]
    assert healthy() == before + 1


def test_runtask_failures_are_raised(hub, aws):
    client, stub = aws.stubbed()
    stub.add_response("list_tasks", {"taskArns": []})
    stub.add_response(
        "describe_task_definition",
        {"taskDefinition": {"containerDefinitions": [{"name": "notebook", "essential": True}]}},
    )
    stub.add_response(
        "run_task",
        {
            "tasks": [],
            "failures": [
                {
                    "arn": "arn:aws:ecs:us-east-1:123456789012:container-instance/x",
                    "reason": "RESOURCE:ENI",
                    "detail": "no ENI available in subnet",
                }
            ],
        },
    )
    stub.activate()
    spawner = hub.spawner(hub.user("jack"), "")
    spawner.client_factory = lambda: client
    spawner.default_service = "chat"  # no EFS home: this test is about RunTask alone
    with pytest.raises(SpawnException, match="RESOURCE:ENI: no ENI available in subnet"):
        run(spawner.start())
    stub.assert_no_pending_responses()


def test_runtask_is_retried_when_throttled_and_refusals_are_clear_errors(hub, aws):
    client, stub = aws.stubbed()
    stub.add_response("list_tasks", {"taskArns": []})
    stub.add_response(
        "describe_task_definition",
        {"taskDefinition": {"containerDefinitions": [{"name": "notebook", "essential": True}]}},
    )
    stub.add_client_error("run_task", service_error_code="ThrottlingException", http_status_code=400)
    stub.add_client_error(
        "run_task",
        service_error_code="ClientException",
        http_status_code=400,
        service_message="TaskDefinition is inactive",
    )
    stub.activate()
    spawner = hub.spawner(hub.user("kim"), "")
    spawner.client_factory = lambda: client
    spawner.default_service = "chat"  # no EFS home: this test is about RunTask alone
    with pytest.raises(SpawnException) as err:
        run(spawner.start())
    assert err.value.message == (
        f"ECS refused to start {PREFIX}-chat-small: ECS RunTask failed: ClientException: TaskDefinition is inactive"
    )
    stub.assert_no_pending_responses()
    assert run(spawner.poll()) == 0  # the spawn is over and nothing was launched

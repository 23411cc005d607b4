"""Bugs the suite once let through (issue 8): each test here fails if its one line of code is broken."""

from __future__ import annotations

import asyncio
import copy
import time

from botocore.stub import Stubber

from ecsspawner import reader as reader_module
from ecsspawner.reader import TaskReader

ARN = "arn:aws:ecs:us-east-1:123456789012:task/hub-cluster/0123456789abcdef0123456789abcdef"


def run(coro):
    return asyncio.run(coro)


def test_poll_keeps_a_server_when_reading_its_task_raises_unexpectedly(hub, aws):
    """An unexpected exception must not make the hub drop a live server: None, not 0."""

    async def scenario():
        spawner = await hub.spawn(hub.user("al"), "", {"service": "lab"})

        async def broken(*_, **__):
            raise RuntimeError("bug in the reader")

        spawner.reader.get = broken
        return await spawner.poll()

    assert run(scenario()) is None


def test_a_stopped_container_without_an_exit_code_is_reported_as_1(hub, aws):
    """An image pull failure stops the task before the container ever ran: no exitCode, not a clean exit."""

    async def scenario():
        spawner = await hub.spawn(hub.user("bea"), "", {"service": "lab"})
        aws.stop_behind_hubs_back(spawner.task_arn, exit_code=0, reason="CannotPullContainerError: not found")
        aws.task(spawner.task_arn).containers[0].exitCode = None
        reader_module.reset_shared()
        return await spawner.poll()

    assert run(scenario()) == 1


def register_with_sidecar(aws) -> str:
    family = f"{aws.PREFIX}-lab-sidecar"
    aws.client().register_task_definition(
        family=family,
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="512",
        memory="2048",
        containerDefinitions=[
            {"name": "log-router", "image": "fluent-bit", "memory": 256, "essential": False},
            {"name": "notebook", "image": "lab", "memory": 1024, "essential": True},
        ],
    )
    return family


def test_exit_code_comes_from_the_essential_container_not_a_sidecar(hub, aws):
    family = register_with_sidecar(aws)

    async def scenario():
        spawner = await hub.spawn(hub.user("cy"), "", {"service": "lab"})
        # run the sidecar family for this server instead, as a hub whose definitions add a log router would
        reply = aws.client().run_task(
            cluster=aws.cluster,
            taskDefinition=family,
            launchType="FARGATE",
            networkConfiguration={
                "awsvpcConfiguration": {"subnets": [aws.subnet], "securityGroups": [aws.security_group]}
            },
        )
        spawner.task_arn = reply["tasks"][0]["taskArn"]
        task = aws.task(spawner.task_arn)
        task.last_status = task.desired_status = "STOPPED"
        sidecar = task.containers[0]  # moto models one container per task: add the essential one
        server = copy.copy(sidecar)
        server.name = "notebook"
        task.containers = [sidecar, server]
        sidecar.exitCode = 1  # the sidecar failed on the way down
        server.exitCode = 0  # the server exited cleanly
        reader_module.reset_shared()
        return await spawner.poll()

    assert run(scenario()) == 0


def test_a_task_told_to_stop_is_not_running(hub, aws):
    """lastStatus RUNNING but desiredStatus STOPPED: the task is on its way out."""

    async def scenario():
        spawner = await hub.spawn(hub.user("di"), "", {"service": "lab"})
        task = aws.task(spawner.task_arn)
        task.desired_status = "STOPPED"
        task.containers[0].exitCode = 143
        reader_module.reset_shared()
        return task.last_status, await spawner.poll()

    assert run(scenario()) == ("RUNNING", 143)


def test_runtask_carries_the_spawn_id_as_client_token_on_every_attempt(hub, aws):
    """A throttled RunTask is retried with the same clientToken, so ECS starts at most one task."""
    client, stub = aws.stubbed()
    stub.add_response("list_tasks", {"taskArns": []})
    stub.add_response(
        "describe_task_definition",
        {"taskDefinition": {"containerDefinitions": [{"name": "notebook", "essential": True}]}},
    )
    tokens: list = []
    client.meta.events.register(
        "before-parameter-build.ecs.RunTask", lambda params, **_: tokens.append(params.get("clientToken"))
    )
    stub.add_client_error("run_task", service_error_code="ThrottlingException", http_status_code=400)
    stub.add_client_error("run_task", service_error_code="ClientException", http_status_code=400)
    stub.activate()
    spawner = hub.spawner(hub.user("ed"), "")
    spawner.client_factory = lambda: client
    spawner.default_service = "chat"  # no EFS home: this test is about RunTask alone
    try:
        run(spawner.start())
    except Exception:
        pass
    assert len(tokens) == 2 and tokens[0] == tokens[1] and tokens[0]
    assert spawner.spawn_id == tokens[0]


def test_describe_now_returns_every_arn_past_100(aws):
    arns = [f"{ARN[:-4]}{i:04d}" for i in range(250)]
    found = run(TaskReader(client=aws.client(), cluster=aws.cluster).describe_now(arns))
    assert sorted(found) == sorted(arns) and all(lookup.missing for lookup in found.values())


def test_leftover_check_stops_all_of_this_servers_tasks_past_100(hub, aws):
    """start() stops every stale task of its own server, also when there are more than one page of them."""

    async def scenario():
        user = hub.user("flo")
        spawner = hub.spawner(user, "")
        ident = spawner.identity
        stale = set()
        for i in range(120):
            reply = aws.client().run_task(
                cluster=aws.cluster,
                taskDefinition=f"{aws.PREFIX}-lab-small",
                launchType="FARGATE",
                startedBy=ident.started_by,
                tags=ident.tags(f"old-{i}"),
                networkConfiguration={
                    "awsvpcConfiguration": {"subnets": [aws.subnet], "securityGroups": [aws.security_group]}
                },
            )
            stale.add(reply["tasks"][0]["taskArn"])
        fresh = await hub.spawn(user, "", {"service": "lab"})
        return stale, fresh.task_arn

    stale, fresh = run(scenario())
    assert aws.running() == {fresh}
    assert all(aws.task(a).last_status == "STOPPED" for a in stale)


def test_a_shorter_max_age_forces_a_fresh_read(aws):
    arn = aws.client().run_task(
        cluster=aws.cluster,
        taskDefinition=f"{aws.PREFIX}-lab-small",
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": [aws.subnet], "securityGroups": [aws.security_group]}},
    )["tasks"][0]["taskArn"]
    now = [1000.0]
    reader = TaskReader(client=aws.client(), cluster=aws.cluster, ttl=60.0, clock=lambda: now[0])

    async def scenario():
        first = await reader.get(arn)
        aws.task(arn).last_status = "STOPPED"
        now[0] += 2
        cached = await reader.get(arn)  # within the 60 s ttl
        fresh = await reader.get(arn, max_age=1.0)  # start() asks for answers at most 1 s old
        return first, cached, fresh

    first, cached, fresh = run(scenario())
    assert first.task["lastStatus"] == cached.task["lastStatus"] == "RUNNING"
    assert fresh.task["lastStatus"] == "STOPPED"


def test_a_failed_describe_batch_is_one_call_and_an_error(aws):
    """While throttled, each get() costs one DescribeTasks call and reports the error code."""
    client = aws.stubbed()[0]
    stub = Stubber(client)
    stub.add_client_error("describe_tasks", service_error_code="ThrottlingException", http_status_code=400)
    reader = TaskReader(client=client, cluster=aws.cluster)
    with stub:
        lookup = run(reader.get(ARN))
        stub.assert_no_pending_responses()
    assert lookup.error == "ThrottlingException" and not lookup.found and not lookup.missing
    assert reader.calls == 1


def test_stop_with_a_spawn_id_but_no_arn_stops_the_servers_task(hub, aws):
    """RunTask answered, but the ARN never reached the spawner (say the hub lost it): stop() finds it by startedBy."""

    async def scenario():
        spawner = hub.spawner(hub.user("gus"), "")
        ident = spawner.identity
        arn = aws.client().run_task(
            cluster=aws.cluster,
            taskDefinition=f"{aws.PREFIX}-lab-small",
            launchType="FARGATE",
            startedBy=ident.started_by,
            tags=ident.tags("spawn-1"),
            networkConfiguration={
                "awsvpcConfiguration": {"subnets": [aws.subnet], "securityGroups": [aws.security_group]}
            },
        )["tasks"][0]["taskArn"]
        spawner.load_state({"spawn_id": "spawn-1", "cluster": aws.cluster, "launched_at": time.time()})
        await spawner.stop()
        return arn

    arn = run(scenario())
    assert aws.task(arn).last_status == "STOPPED"


def _throttled(n: int) -> list:
    return [(400, {"__type": "ThrottlingException", "message": "Rate exceeded"})] * n


def test_runtask_retried_inside_botocore_and_by_start_keeps_one_client_token_and_starts_one_task(hub, aws):
    """6 throttled RunTasks: botocore's retry mode (5 attempts) gives up, start()'s exponential_backoff tries again.

    Every request body carries the spawn id as clientToken, and the spawn ends with one task.
    """
    client, sent = aws.scripted("RunTask", _throttled(6))
    hub_ = hub
    user = hub_.user("hal")
    spawner = hub_.spawner(user, "")
    spawner.client_factory = lambda: client
    spawner = run(hub_.spawn(user, "", {"service": "lab"}))
    assert len(sent) == 7  # 5 botocore attempts, then start()'s retry: 1 throttled + 1 answered by moto
    assert {body["clientToken"] for body in sent} == {spawner.spawn_id}
    assert [a for a in aws.running() if aws.task(a).started_by == spawner.identity.started_by] == [spawner.task_arn]

"""Exact AWS error replies (botocore Stubber): throttling, MISSING, not-found, transient retries."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from botocore.exceptions import ClientError

from ecsspawner.reader import TaskReader
from tests.spawner.conftest import ecs_error

ARN = "arn:aws:ecs:us-east-1:123456789012:task/hub-cluster/0123456789abcdef0123456789abcdef"


def loaded_spawner(hub, aws, client, *, launched_ago: float = 600.0):
    """A spawner restored from saved state (as after a hub restart), talking to `client`."""
    spawner = hub.spawner(hub.user("alice"), "")
    spawner.load_state(
        {"task_arn": ARN, "cluster": aws.cluster, "spawn_id": "s1", "launched_at": time.time() - launched_ago}
    )
    spawner.client_factory = lambda: client
    return spawner


def describe_params(aws):
    return {"cluster": aws.cluster, "tasks": [ARN], "include": ["TAGS"]}


@pytest.mark.parametrize("code, status", [("ThrottlingException", 400), ("ServerException", 500)])
def test_throttling_or_server_error_makes_poll_return_none(hub, aws, code, status):
    client, stub = aws.stubbed()
    stub.add_client_error(
        "describe_tasks",
        service_error_code=code,
        service_message="Rate exceeded",
        http_status_code=status,
        expected_params=describe_params(aws),
    )
    with stub:
        assert asyncio.run(loaded_spawner(hub, aws, client).poll()) is None
        stub.assert_no_pending_responses()


@pytest.mark.parametrize("launched_ago, expected", [(5.0, None), (600.0, 0)])
def test_missing_task_is_starting_within_grace_then_dead(hub, aws, launched_ago, expected):
    client, stub = aws.stubbed()
    stub.add_response(
        "describe_tasks",
        {"tasks": [], "failures": [{"arn": ARN, "reason": "MISSING"}]},
        expected_params=describe_params(aws),
    )
    with stub:
        spawner = loaded_spawner(hub, aws, client, launched_ago=launched_ago)
        assert asyncio.run(spawner.poll()) == expected


def test_stop_of_a_task_ecs_no_longer_knows_succeeds(hub, aws):
    client, stub = aws.stubbed()
    stub.add_client_error(
        "stop_task",
        service_error_code="InvalidParameterException",
        service_message="The referenced task was not found.",
        http_status_code=400,
    )
    with stub:
        asyncio.run(loaded_spawner(hub, aws, client).stop())
        stub.assert_no_pending_responses()


def test_stop_retries_transient_errors_until_stopped(hub, aws):
    """botocore's retry mode (the default client's) retries StopTask; the errors come from inside its retry loop."""
    client, sent = aws.scripted(
        "StopTask",
        [
            (400, ecs_error("ThrottlingException", "Rate exceeded")),
            (500, ecs_error("ServerException")),
            (200, {"task": {"taskArn": ARN, "lastStatus": "RUNNING", "desiredStatus": "STOPPED"}}),
        ],
    )
    asyncio.run(loaded_spawner(hub, aws, client).stop())
    assert sent == [{"cluster": aws.cluster, "task": ARN, "reason": "stopped by JupyterHub"}] * 3


def test_stop_reports_an_error_that_retrying_cannot_fix(hub, aws):
    client, stub = aws.stubbed()
    stub.add_client_error("stop_task", service_error_code="AccessDeniedException", http_status_code=400)
    with stub, pytest.raises(ClientError, match="AccessDeniedException"):
        asyncio.run(loaded_spawner(hub, aws, client).stop())


class _Reply:
    status_code = 400
    headers = None  # botocore reads only status_code from a before-call reply


def test_stop_twice_on_moto_is_idempotent(hub, aws):
    """The second StopTask meets ECS's answer for a task it no longer knows; stop() must still succeed.

    moto accepts StopTask on a stopped task, so a hook answers as ECS does once the task is gone.
    """
    client = aws.client()
    sent: list[str] = []

    def like_ecs(params, **_):
        arn = json.loads(params["body"])["task"]  # ECS speaks JSON: the request body holds the API parameters
        sent.append(arn)
        if aws.task(arn).last_status == "STOPPED":
            error = {"Code": "InvalidParameterException", "Message": "The referenced task was not found."}
            return _Reply(), {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}
        return None

    client.meta.events.register("before-call.ecs.StopTask", like_ecs)

    async def scenario():
        spawner = await hub.spawn(hub.user("bob"), "", {"service": "lab"})
        await spawner.stop()
        await spawner.stop()
        return spawner.task_arn

    try:
        arn = asyncio.run(scenario())
    finally:
        client.meta.events.unregister("before-call.ecs.StopTask", like_ecs)
    assert sent == [arn, arn]
    assert aws.task(arn).last_status == "STOPPED"


def test_describe_failure_other_than_missing_is_an_error_not_a_death(aws):
    client, stub = aws.stubbed()
    stub.add_response(
        "describe_tasks",
        {"tasks": [], "failures": [{"arn": ARN, "reason": "ACCESS_DENIED", "detail": "not authorized"}]},
    )
    with stub:
        lookup = asyncio.run(TaskReader(client=client, cluster=aws.cluster).get(ARN))
    assert lookup.error == "ACCESS_DENIED: not authorized" and not lookup.missing

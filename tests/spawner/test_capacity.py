"""Fargate Spot: the capacity provider strategy setting, what RunTask receives, and Spot interruptions."""

from __future__ import annotations

import asyncio

import pytest
from jupyterhub.spawner import SpawnException
from traitlets import TraitError

from ecsspawner import ECSSpawner
from ecsspawner import reader as reader_module

SPOT = [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]
MIXED = [{"capacityProvider": "FARGATE", "base": 1, "weight": 1}, {"capacityProvider": "FARGATE_SPOT", "weight": 3}]


def run(coro):
    return asyncio.run(coro)


class RunTaskParams(list):
    """The parameters of each RunTask the client sends while the block runs."""

    def __init__(self, client) -> None:
        super().__init__()
        self.client = client

    def _seen(self, params, **_) -> None:
        self.append(dict(params))

    def __enter__(self) -> RunTaskParams:
        self.client.meta.events.register("provide-client-params.ecs.RunTask", self._seen)
        return self

    def __exit__(self, *_: object) -> None:
        self.client.meta.events.unregister("provide-client-params.ecs.RunTask", self._seen)


def test_most_specific_entry_wins_and_no_entry_keeps_launch_type_fargate(hub_with, aws):
    # lab, because moto never reports HEALTHY and lab is the fixture service that does not wait for it
    hub = hub_with(capacity_provider_strategy={"lab:large": MIXED, "lab:small": SPOT, "chat": SPOT})

    async def scenario():
        for user, size in (("s1", "large"), ("s2", "small"), ("s3", "medium")):
            await hub.spawn(hub.user(user), "", {"service": "lab", "size": size})

    with RunTaskParams(aws.client()) as sent:
        run(scenario())
    assert [p.get("capacityProviderStrategy") for p in sent] == [MIXED, SPOT, None]
    # RunTask refuses launchType together with a strategy: only the server without an entry sends it.
    assert [p.get("launchType") for p in sent] == [None, None, "FARGATE"]


def test_the_default_entry_covers_every_other_server(hub_with, aws):
    hub = hub_with(capacity_provider_strategy={"*": SPOT})
    with RunTaskParams(aws.client()) as sent:
        run(hub.spawn(hub.user("s4"), "", {"service": "lab"}))
    assert sent[0]["capacityProviderStrategy"] == SPOT and "launchType" not in sent[0]


@pytest.mark.parametrize(
    "value, message",
    [
        ({"lab": [{"capacityProvider": "SPOT"}]}, "capacity_provider_strategy['lab'][0].capacityProvider is 'SPOT'"),
        ({"lab": []}, "capacity_provider_strategy['lab'] is []; expected a non-empty list"),
        ({"*": [{"capacityProvider": "FARGATE", "weight": -1}]}, "weight is -1; allowed: an integer 0-1000"),
        ({"*": [{"capacityProvider": "FARGATE", "wieght": 1}]}, "unknown key(s) wieght"),
        ({"*": [{"capacityProvider": "FARGATE_SPOT", "weight": 0}]}, "every weight is 0"),
    ],
)
def test_a_bad_strategy_is_refused_at_config_time(value, message):
    with pytest.raises(TraitError) as err:
        ECSSpawner(capacity_provider_strategy=value)
    assert message in str(err.value)


def interrupt_after_run_task(aws):
    """ECS reclaims the Spot capacity as soon as the task exists (what moto cannot model: set by hand)."""

    def reclaim(parsed, **_):
        for task in parsed.get("tasks") or []:
            moto_task = aws.task(task["taskArn"])
            moto_task.last_status = moto_task.desired_status = "STOPPED"
            moto_task.stop_code = "SpotInterruption"
            moto_task.stopped_reason = "Your Spot Task was interrupted."

    aws.client().meta.events.register("after-call.ecs.RunTask", reclaim)
    return reclaim


def test_a_spot_interruption_while_starting_is_reported_as_such(hub_with, aws):
    hub = hub_with(capacity_provider_strategy={"chat": SPOT})
    reclaim = interrupt_after_run_task(aws)
    try:
        with pytest.raises(SpawnException) as err:
            run(hub.spawn(hub.user("s5"), "", {"service": "chat"}))
    finally:
        aws.client().meta.events.unregister("after-call.ecs.RunTask", reclaim)
    assert "Spot interruption" in err.value.message and "not a fault of your server" in err.value.message


def test_a_spot_interruption_of_a_running_server_is_told_at_the_next_start(hub, aws, caplog):
    async def scenario():
        user = hub.user("s6")
        spawner = await hub.spawn(user, "", {"service": "lab"})
        task = aws.task(spawner.task_arn)
        task.last_status = task.desired_status = "STOPPED"
        task.stop_code, task.stopped_reason = "SpotInterruption", "Your Spot Task was interrupted."
        reader_module.reset_shared()
        status = await spawner.poll()
        await user.stop("")
        again = await hub.spawn(user, "", {"service": "lab"})
        return status, [e["message"] for e in again._progress]

    status, messages = run(scenario())
    assert status is not None
    assert "SpotInterruption" in caplog.text
    assert messages[0].startswith("Your previous server was stopped: AWS reclaimed the Fargate Spot capacity")

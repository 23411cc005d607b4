"""start() edge cases: replacing this server's stale task only, and a start cut off by start_timeout."""

from __future__ import annotations

import asyncio
import time

import pytest

from ecsspawner.identity import ServerIdentity
from ecsspawner.spawner import in_flight_for

HUB_ID = "hub-a"  # as in conftest.py


def test_stop_before_launch_touches_only_this_servers_own_task(hub, aws):
    async def scenario():
        alice, bob = hub.user("alice"), hub.user("bob")
        stale = await hub.spawn(alice, "a", {"service": "lab"})
        stale_arn = stale.task_arn
        sibling = await hub.spawn(alice, "b", {"service": "lab"})
        default = await hub.spawn(alice, "", {"service": "lab"})
        other_user = await hub.spawn(bob, "a", {"service": "lab"})
        # The hub lost track of server "a" (state cleared without a stop): its task still runs.
        stale.clear_state()
        fresh = await hub.spawn(alice, "a", {"service": "lab"})
        return stale_arn, fresh.task_arn, {sibling.task_arn, default.task_arn, other_user.task_arn}

    stale_arn, fresh_arn, others = asyncio.run(scenario())
    assert aws.task(stale_arn).last_status == "STOPPED"
    assert "replaced by a new spawn" in aws.task(stale_arn).stopped_reason
    assert aws.running() == others | {fresh_arn}
    keys = {aws.task(a).started_by for a in others | {fresh_arn}}
    assert len(keys) == 4 and aws.task(fresh_arn).started_by == ServerIdentity(HUB_ID, "alice", "a").started_by


def test_start_cancelled_by_timeout_while_waiting_keeps_the_arn_and_stop_cleans_up(hub, aws):
    """chat prefers ECS health; moto never reports HEALTHY, so start() times out after RunTask."""

    async def scenario():
        alice = hub.user("alice")
        spawner = hub.spawner(alice, "")
        spawner.start_timeout = 1
        spawner.start_deadline_margin = 0  # no own deadline: JupyterHub's timeout cancels start()
        with pytest.raises(asyncio.TimeoutError):
            await hub.spawn(alice, "", {"service": "chat"})
        arn = spawner.task_arn
        assert arn and aws.task(arn).last_status == "RUNNING"
        assert await spawner.poll() is None  # what User.stop asks first: still there, so it calls stop()
        await alice.stop("")
        return arn, spawner

    arn, spawner = asyncio.run(scenario())
    assert aws.task(arn).last_status == "STOPPED"
    assert spawner.task_arn == "" and spawner.orm_spawner.state == {}


def test_start_cancelled_while_runtask_is_in_flight_records_arn_and_stops_the_task(hub, aws):
    """RunTask answers after start_timeout: the ARN is still recorded, and User.stop stops that task."""
    client = aws.client()

    def slow_run_task(**_):
        time.sleep(1.3)  # in the executor thread, like a slow/throttled RunTask

    client.meta.events.register("before-call.ecs.RunTask", slow_run_task)
    seen_in_flight = []

    async def scenario():
        alice = hub.user("alice")
        spawner = hub.spawner(alice, "")
        spawner.start_timeout = 1

        async def watch_registry():
            while not spawner.spawn_id:
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.5)
            seen_in_flight.append(spawner.spawn_id in in_flight_for(HUB_ID))

        with pytest.raises(asyncio.TimeoutError):
            await asyncio.gather(hub.spawn(alice, "", {"service": "lab"}), watch_registry())
        assert spawner.task_arn == ""  # RunTask has not answered yet
        assert await spawner.poll() is None  # a spawn is in flight: not "stopped"
        await alice.stop("")  # waits for RunTask's answer, then stops that task
        return spawner

    try:
        spawner = asyncio.run(scenario())
    finally:
        client.meta.events.unregister("before-call.ecs.RunTask", slow_run_task)
    assert seen_in_flight == [True]
    (arn,) = aws.tasks()
    assert aws.task(arn).last_status == "STOPPED"
    assert spawner.orm_spawner.state == {}
    assert len(in_flight_for(HUB_ID)._spawns) == 0

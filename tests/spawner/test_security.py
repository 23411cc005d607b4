"""Issue 9's spawner holes (items 10-14): each test failed before its fix."""

from __future__ import annotations

import asyncio
import json

import pytest
from jupyterhub.spawner import SpawnException

from ecsspawner import overrides
from tests.spawner.test_reaper import HUB_ID, TEN_HOURS, launch_untracked, reaper_of

# --- item 12: a failed database read is a failed sweep ---------------------------------------


def test_a_sweep_whose_database_read_fails_forgets_the_suspects(hub, aws):
    """Suspect, then a sweep whose holdings read fails, then suspect again: never stopped on the third."""
    orphan = launch_untracked(aws, hub_id=HUB_ID, user="zoe", server="", spawn_id="lost", age=TEN_HOURS)
    reaper = reaper_of(hub)
    assert [d.decision for d in asyncio.run(reaper.sweep())] == ["suspect"]
    read_holdings = reaper.holdings

    def broken_database():
        raise RuntimeError("database is locked")

    reaper.holdings = broken_database
    assert asyncio.run(reaper.sweep()) == []  # no exception escapes: a failed sweep
    reaper.holdings = read_holdings
    assert [d.decision for d in asyncio.run(reaper.sweep())] == ["suspect"]  # counting starts over
    assert aws.running() == {orphan}
    assert [d.decision for d in asyncio.run(reaper.sweep())] == ["stopped"]


# --- item 14: overrides past ECS's 8 KiB ------------------------------------------------------


def test_overrides_past_ecs_limit_are_a_clear_spawn_exception_before_runtask(hub, aws):
    user = hub.user("u" * 1500)  # the name is in several variables (about 690 suffice in a full hub)

    async def scenario():
        return await hub.spawn(user, "", {"service": "lab"})

    with pytest.raises(SpawnException) as caught:
        asyncio.run(scenario())
    message = str(caught.value)
    assert "ECS allows at most 8192" in message and "characters" in message and "JUPYTERHUB_" in message
    assert aws.tasks() == {}  # RunTask was never called


def test_overrides_size_counts_compact_json_characters():
    env = {"A": "é" * 10}
    measured = overrides.container_overrides("box", env)
    assert overrides.overrides_size(measured) == len(json.dumps(measured, separators=(",", ":"), ensure_ascii=False))
    assert overrides.too_large(measured, env) is None
    assert overrides.too_large(measured, env, limit=overrides.overrides_size(measured)) is None
    assert "A (11 characters)" in overrides.too_large(measured, env, limit=overrides.overrides_size(measured) - 1)

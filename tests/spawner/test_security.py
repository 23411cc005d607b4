"""Issue 9's spawner holes (items 10-14): each test failed before its fix."""

from __future__ import annotations

import asyncio

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

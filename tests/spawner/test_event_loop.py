"""No blocking call on the hub's event loop (issue 14): a slow AWS client set-up and a slow database
must not stall the loop while servers start, are polled, swept by the reaper and stopped."""

from __future__ import annotations

import asyncio
import threading
import time

import sqlalchemy as sa
from jupyterhub import orm

from tests.spawner.conftest import make_hub, spawner_config

SLOW = 0.6  # seconds each slow call blocks the thread it runs in


def test_client_creation_and_the_reapers_database_read_do_not_stall_the_loop(aws, tmp_path):
    moto_client = aws.client()
    made: list[str] = []

    def slow_factory():  # what boto3.client() costs on a cold hub: loading botocore's service model
        time.sleep(SLOW)
        made.append(threading.current_thread().name)
        return moto_client

    db = orm.new_session_factory(f"sqlite:///{tmp_path}/hub.sqlite")()  # a database with a real pool
    slow_reads: list[str] = []
    sweeping = threading.Event()

    @sa.event.listens_for(db.get_bind(), "before_cursor_execute")
    def slow_server_rows(conn, cursor, statement, parameters, context, executemany):
        if sweeping.is_set() and "FROM spawners" in statement:  # the reaper's read of every server's state
            slow_reads.append(threading.current_thread().name)
            time.sleep(SLOW)

    hub = make_hub(db, spawner_config(aws, client_factory=slow_factory, reaper_interval=0.05))

    async def scenario() -> None:
        spawners = await asyncio.gather(*(hub.spawn(hub.user(f"u{i}"), "", {"service": "lab"}) for i in range(3)))
        assert await asyncio.gather(*(s.poll() for s in spawners)) == [None] * 3
        sweeping.set()
        spawners[0].start_reaper(users=hub.users, db=db)  # the hub's periodic sweep, as hubstart starts it
        for _ in range(200):
            if len(slow_reads) >= 2:
                break
            await asyncio.sleep(0.02)
        sweeping.clear()
        await asyncio.gather(*(s.stop() for s in spawners))

    asyncio.run(scenario())
    # Where each slow call ran, not how long the loop lagged (a wall-clock bound flakes on a loaded machine;
    # benchmarks/spawn_load.py measures the stall): the loop runs on MainThread, so neither may run there.
    assert len(made) == 2 and "MainThread" not in made  # one client per shared reader, one for the reaper
    assert len(slow_reads) >= 2 and "MainThread" not in slow_reads  # the sweeps read the database, off the loop

"""Property: whatever the users, servers, pending spawns and ages, the reaper never stops a held task.

Each example builds a hub on a fresh cluster and database: servers saved only in
the database, loaded servers, servers mid-start (ARN in memory only), spawns in
flight (no ARN anywhere yet), other hubs' tasks and true orphans, each with a
random age; then 1-3 sweeps.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from datetime import UTC, datetime

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ecsspawner import spawner as spawner_module
from ecsspawner.identity import ServerIdentity
from ecsspawner.spawner import in_flight_for

HUB_ID = "hub-a"  # as in conftest.py
MIN_AGE = 60 + 120  # start_timeout + reaper_margin in conftest's config
HELD = ("saved", "loaded", "starting", "in-flight")
KINDS = HELD + ("foreign", "orphan")

servers = st.lists(
    st.tuples(
        st.sampled_from(["alice", "bob", "carol", "dave"]),
        st.sampled_from(["", "a", "lab-2", "x"]),
        st.sampled_from(KINDS),
        # Ages near the limit matter most: reaper_margin (120) < age <= start_timeout + margin (180) must be kept.
        st.one_of(st.floats(min_value=0, max_value=400), st.floats(min_value=0, max_value=50_000)),
    ),
    min_size=1,
    max_size=10,
    unique_by=lambda s: (s[0], s[1]),
)
_clusters = itertools.count()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(world=servers, sweeps=st.integers(min_value=1, max_value=3))
@example(world=[("alice", "", "orphan", 150.0), ("bob", "a", "orphan", 400.0)], sweeps=2)  # young: margin < 150 < 180
@example(world=[("carol", "x", "saved", 150.0), ("dave", "", "orphan", 170.0)], sweeps=3)
def test_reaper_never_stops_a_task_that_a_spawner_holds_or_is_starting(hub_with, aws, world, sweeps):
    cluster = f"prop-{next(_clusters)}"
    client = aws.client()
    client.create_cluster(clusterName=cluster)
    spawner_module._in_flight.clear()
    writer = hub_with(cluster=cluster)

    def launch(user: str, server: str, kind: str, age: float, spawn_id: str) -> str:
        ident = ServerIdentity("hub-b" if kind == "foreign" else HUB_ID, user, server)
        reply = client.run_task(
            cluster=cluster,
            taskDefinition=f"{aws.PREFIX}-lab-small",
            launchType="FARGATE",
            startedBy=ident.started_by,
            tags=ident.tags(spawn_id),
            networkConfiguration={
                "awsvpcConfiguration": {"subnets": [aws.subnet], "securityGroups": [aws.security_group]}
            },
        )
        arn = reply["tasks"][0]["taskArn"]
        aws.backend.tasks[cluster][arn].created_at = datetime.fromtimestamp(time.time() - age, UTC)
        return arn

    launched = []  # (arn, user, server, kind, age, spawn_id)
    for i, (user, server, kind, age) in enumerate(world):
        spawn_id = f"spawn-{i}"
        arn = launch(user, server, kind, age, spawn_id)
        launched.append((arn, user, server, kind, age, spawn_id))
        spawner = writer.spawner(writer.user(user), server)
        if kind in ("saved", "loaded"):
            spawner.orm_spawner.state = {"task_arn": arn, "cluster": cluster, "spawn_id": spawn_id}
    writer.db.commit()

    hub = writer.restart()  # nothing loaded: "saved" servers exist only in orm_spawner.state
    for arn, user, server, kind, _, spawn_id in launched:
        if kind == "loaded":
            hub.users[user].spawners[server]  # loaded from its saved state, as app.init_spawners does
        elif kind == "starting":  # start() has its ARN; the hub saves state only after start() returns
            spawner = hub.users[user].spawners[server]
            spawner.task_arn, spawner.spawn_id, spawner.task_cluster = arn, spawn_id, cluster
        elif kind == "in-flight":  # RunTask sent, its answer not recorded anywhere yet
            in_flight_for(HUB_ID).begin(spawn_id)

    probe = hub.spawner(hub.user("reaper-probe"), "")
    reaper = probe.make_reaper(users=hub.users, db=hub.db)
    for _ in range(sweeps):
        asyncio.run(reaper.sweep())

    for arn, _, _, kind, age, _ in launched:
        status = aws.backend.tasks[cluster][arn].last_status
        if kind != "orphan":
            assert status == "RUNNING", (kind, age)
        elif abs(age - MIN_AGE) > 5:  # and true orphans are still reaped, after two sweeps
            assert status == ("STOPPED" if sweeps >= 2 and age > MIN_AGE else "RUNNING"), (age, sweeps)

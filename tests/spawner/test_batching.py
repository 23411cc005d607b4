"""One hub-wide DescribeTasks reader: a poll round over N servers costs ceil(N/100) calls."""

from __future__ import annotations

import asyncio
import time

N_USERS, SERVERS_EACH = 50, 5  # 250 servers


def count_describe_calls(client) -> list:
    """Counts real botocore DescribeTasks requests (the client's own event hook, no fake)."""
    calls: list = []
    client.meta.events.register(
        "before-parameter-build.ecs.DescribeTasks", lambda params, **_: calls.append(len(params["tasks"]))
    )
    return calls


def restarted_hub_with_servers(hub, aws) -> list:
    """A hub restarting with 250 running servers: tasks in ECS, states in the database, spawners loaded.

    (Starting 250 servers through start() costs ~1000 moto calls; start() is covered elsewhere.)
    """
    client = aws.client()
    for u in range(N_USERS):
        user = hub.user(f"user{u}")
        for s in range(SERVERS_EACH):
            spawner = hub.spawner(user, f"s{s}")
            ident, spawn_id = spawner.identity, f"spawn-{u}-{s}"
            reply = client.run_task(
                cluster=aws.cluster,
                taskDefinition=f"{aws.PREFIX}-lab-small",
                launchType="FARGATE",
                startedBy=ident.started_by,
                tags=ident.tags(spawn_id),
                clientToken=spawn_id,
                networkConfiguration={
                    "awsvpcConfiguration": {"subnets": [aws.subnet], "securityGroups": [aws.security_group]}
                },
            )
            spawner.orm_spawner.state = {
                "task_arn": reply["tasks"][0]["taskArn"],
                "cluster": aws.cluster,
                "spawn_id": spawn_id,
                "launched_at": time.time() - 3600,
            }
    hub.db.commit()
    restarted = hub.restart()
    return [restarted.users[f"user{u}"].spawners[f"s{s}"] for u in range(N_USERS) for s in range(SERVERS_EACH)]


def test_250_servers_cost_3_describe_calls_per_poll_round(hub_with, aws):
    hub = hub_with(describe_cache_ttl=5.0)
    client = aws.client()
    calls = count_describe_calls(client)

    async def scenario():
        spawners = restarted_hub_with_servers(hub, aws)
        reader = spawners[0].reader  # the one reader every spawner shares
        assert all(s.reader is reader for s in spawners)
        now = [time.monotonic()]
        reader.clock = lambda: now[0]  # rounds are 30 s apart in a hub; here the clock jumps instead
        now[0] += 6  # every answer from the spawns is now older than the 5 s cache
        calls.clear()

        round1 = await asyncio.gather(*(s.poll() for s in spawners))
        after_round1 = list(calls)
        round2 = await asyncio.gather(*(s.poll() for s in spawners))  # within the ttl: served from cache
        after_round2 = list(calls)

        ghost = spawners[137]
        aws.stop_behind_hubs_back(ghost.task_arn, exit_code=2)
        now[0] += 6
        # Spread over time like JupyterHub's jittered poll callbacks: the first miss refreshes all 250.
        round3 = [await s.poll() for s in spawners]
        return round1, after_round1, round2, after_round2, round3, list(calls)

    try:
        round1, after1, round2, after2, round3, after3 = asyncio.run(scenario())
    finally:
        client.meta.events.unregister("before-parameter-build.ecs.DescribeTasks")
    assert round1 == [None] * 250 and round2 == [None] * 250
    assert sorted(after1) == [50, 100, 100]
    assert after2 == after1
    assert sorted(after3[3:]) == [50, 100, 100]
    assert round3[137] == 2 and round3.count(None) == 249

"""Issue 9's spawner holes (items 10-14): each test failed before its fix."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
import sqlalchemy as sa
from botocore.exceptions import ClientError
from jupyterhub import orm
from jupyterhub.spawner import SpawnException
from prometheus_client import REGISTRY

from ecsspawner import bootstrap, bootstrap_client, overrides
from ecsspawner.install import forget_cache, install_id
from ecsspawner.pending import pending_stops_for
from tests.spawner.test_reaper import HUB_ID, TEN_HOURS, launch_untracked, reaper_of


class Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def errors_seen():
    """Error lines of the spawners' logger (traitlets' logger outside a hub application)."""
    handler = Errors()
    logger = logging.getLogger("traitlets")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


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


# --- item 10: two hubs given the same hub_id --------------------------------------------------


def conflicts(where: str) -> float:
    return REGISTRY.get_sample_value("ecsspawner_hub_id_conflicts_total", {"where": where}) or 0.0


def test_second_hub_with_the_same_hub_id_never_stops_the_firsts_servers(hub_with, aws, errors_seen):
    """Hub B spawning alice leaves hub A's alice running; B's reaper leaves A's 10-hour-old lab running."""
    hub_a, hub_b = hub_with(), hub_with()  # two databases, one hub_id, one cluster
    before_start, before_reaper = conflicts("start"), conflicts("reaper")

    async def scenario():
        a_alice = await hub_a.spawn(hub_a.user("alice"), "", {"service": "lab"})
        a_old = await hub_a.spawn(hub_a.user("carol"), "old", {"service": "lab"})
        aws.age(a_old.task_arn, TEN_HOURS)
        b_alice = await hub_b.spawn(hub_b.user("alice"), "", {"service": "lab"})
        b_reaper = reaper_of(hub_b)
        sweeps = [await b_reaper.sweep() for _ in range(3)]
        return a_alice.task_arn, a_old.task_arn, b_alice.task_arn, sweeps

    a_alice, a_old, b_alice, sweeps = asyncio.run(scenario())
    assert aws.running() == {a_alice, a_old, b_alice}
    install_a, install_b = install_id(hub_a.db, HUB_ID), install_id(hub_b.db, HUB_ID)
    assert install_a != install_b
    for sweep in sweeps:
        decided = {d.task_arn: d.decision for d in sweep}
        assert decided[a_alice] == decided[a_old] == "other-install"
        assert decided[b_alice] == "held"
    assert conflicts("start") == before_start + 1
    assert conflicts("reaper") == before_reaper + 6
    errors = [r.getMessage() for r in errors_seen.records]
    assert any(f"hub id {HUB_ID!r} is used by two hubs: task {a_alice}" in e and install_a in e for e in errors)
    assert any("give each hub its own c.ECSSpawner.hub_id" in e for e in errors)


def test_install_id_is_kept_in_the_hubs_database_across_restarts(hub, aws):
    first = install_id(hub.db, HUB_ID)
    forget_cache()  # a new hub process on the same database
    assert install_id(hub.restart().db, HUB_ID) == first
    assert hub.db.execute(sa.text("SELECT install_id FROM ecsspawner_install")).scalar() == first


def test_tasks_without_an_install_id_tag_are_still_this_hubs(hub, aws):
    """Tasks launched before install ids existed: judged as this hub's (reaped when orphaned), as before."""
    launch_untracked(aws, hub_id=HUB_ID, user="zoe", server="", spawn_id="old", age=TEN_HOURS)
    reaper = reaper_of(hub)
    assert [d.decision for d in asyncio.run(reaper.sweep())] == ["suspect"]
    assert [d.decision for d in asyncio.run(reaper.sweep())] == ["stopped"]


# --- item 11: a StopTask that fails is kept and retried ------------------------------------


def stop_failures(caller: str) -> float:
    return REGISTRY.get_sample_value("ecsspawner_stop_failures_total", {"caller": caller}) or 0.0


class DenyStopTask:
    """A client that answers StopTask with AccessDenied while `deny` is set, else passes calls to moto."""

    def __init__(self, real: Any) -> None:
        self.real, self.deny, self.denied = real, True, 0

    def stop_task(self, **kwargs: Any) -> Any:
        if self.deny:
            self.denied += 1
            raise ClientError(
                {"Error": {"Code": "AccessDeniedException", "Message": "not authorized to perform ecs:StopTask"}},
                "StopTask",
            )
        return self.real.stop_task(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def test_failed_stop_of_a_forgotten_server_is_retried_first_by_the_reaper(hub_with, aws, errors_seen):
    client = DenyStopTask(aws.client())
    hub = hub_with(client_factory=lambda: client)
    before = stop_failures("stop")

    async def scenario():
        alice = hub.user("alice")
        spawner = await hub.spawn(alice, "", {"service": "lab"})
        hub.db.add(orm.OAuthClient(identifier="jupyterhub"))  # the hub's own client, which init_oauth makes
        spawner.api_token = alice.new_api_token(note="server", scopes=[])  # User.spawn gives every server one
        arn, token = spawner.task_arn, spawner.api_token
        with pytest.raises(ClientError):  # JupyterHub's own path: stop()'s error goes up, the state is cleared
            await alice.stop("")
        return arn, token, spawner

    arn, token, spawner = asyncio.run(scenario())
    assert spawner.task_arn == "" and aws.running() == {arn}  # forgotten by the hub, still running
    assert stop_failures("stop") == before + 1
    assert any(
        "StopTask of" in r.getMessage() and "AccessDeniedException" in r.getMessage() for r in errors_seen.records
    )
    assert arn in pending_stops_for(HUB_ID)
    assert token and orm.APIToken.find(hub.db, token) is None  # the running task's token no longer works
    reaper = reaper_of(hub)
    first = asyncio.run(reaper.sweep())  # still denied: kept, counted again, nothing else judged for it
    assert [(d.task_arn, d.decision) for d in first] == [(arn, "stop-failed")]
    assert stop_failures("reaper-retry") >= 1 and arn in pending_stops_for(HUB_ID)
    client.deny = False
    second = asyncio.run(reaper.sweep())
    assert (second[0].task_arn, second[0].decision) == (arn, "stop-retried")  # retried first
    assert aws.running() == set() and arn not in pending_stops_for(HUB_ID)


def test_failed_stop_of_an_unhealthy_task_in_poll_is_kept_counted_and_poll_still_answers(hub_with, aws):
    client = DenyStopTask(aws.client())
    hub = hub_with(client_factory=lambda: client)
    before = stop_failures("poll-unhealthy")

    async def scenario():
        spawner = await hub.spawn(hub.user("bob"), "", {"service": "lab"})
        aws.task(spawner.task_arn).health_status = "UNHEALTHY"
        spawner.reader.forget(spawner.task_arn)
        return spawner, await spawner.poll()

    spawner, status = asyncio.run(scenario())
    assert status == 1  # poll() never raises
    assert stop_failures("poll-unhealthy") == before + 1
    assert spawner.task_arn in pending_stops_for(HUB_ID)


# --- item 9: nothing usable in what DescribeTasks shows -------------------------------------


def strings_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings_in(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings_in(v)]
    return []


async def post_code(port: int, code: str) -> int:
    from tornado.httpclient import AsyncHTTPClient, HTTPClientError

    try:
        reply = await AsyncHTTPClient().fetch(
            f"http://127.0.0.1:{port}{bootstrap.PATH}", method="POST", body=json.dumps({"code": code})
        )
    except HTTPClientError as exc:
        return exc.code
    return reply.code


def test_what_describe_tasks_shows_cannot_authenticate_to_the_hub_once_used(hub, aws):
    from tornado.httpserver import HTTPServer
    from tornado.testing import bind_unused_port
    from tornado.web import Application

    async def scenario():
        hub.db.add(orm.OAuthClient(identifier="jupyterhub"))
        hub.db.commit()
        alice = hub.user("alice")
        spawner = hub.spawner(alice, "")
        spawner.user_options = {"service": "lab"}
        spawner.clear_state()
        token = alice.new_api_token(note="server", scopes=[])  # User.spawn's order: clear_state, token, start
        spawner.api_token = token
        await spawner._run_apply_user_options(spawner.user_options)
        await spawner.start()
        task = aws.client().describe_tasks(cluster=aws.cluster, tasks=[spawner.task_arn], include=["TAGS"])
        shown = strings_in(task["tasks"][0])
        (env,) = [c["environment"] for c in task["tasks"][0]["overrides"]["containerOverrides"]]
        code = {e["name"]: e["value"] for e in env}[bootstrap.CODE_ENV]

        sock, port = bind_unused_port()  # 127.0.0.1
        server = HTTPServer(Application(bootstrap.handlers()))
        server.add_sockets([sock])
        try:
            api_url = f"http://127.0.0.1:{port}/api"
            fetched = await asyncio.get_running_loop().run_in_executor(
                None, bootstrap_client.fetch_token, api_url, code
            )  # the server's launcher, at start-up
            again = [await post_code(port, s) for s in shown]  # everything DescribeTasks shows, as a code
        finally:
            server.stop()
        return token, shown, fetched, again

    token, shown, fetched, again = asyncio.run(scenario())
    assert fetched == token
    assert not any(token in s for s in shown)  # the token never travels in the overrides
    assert all(orm.APIToken.find(hub.db, s) is None for s in shown)  # no shown string is a hub token
    assert set(again) == {403}  # the code is spent: nothing shown fetches the token again


def test_bootstrap_codes_are_single_use_expire_and_die_with_their_spawn():
    now = [0.0]
    codes = bootstrap.BootstrapCodes(clock=lambda: now[0])
    first = codes.issue("tok-1", "spawn-1", ttl=10)
    assert codes.redeem(first) == "tok-1" and codes.redeem(first) is None
    late = codes.issue("tok-2", "spawn-2", ttl=10)
    now[0] = 11
    assert codes.redeem(late) is None
    dead = codes.issue("tok-3", "spawn-3", ttl=10)
    codes.revoke("spawn-3")
    assert codes.redeem(dead) is None and codes.redeem("made-up") is None
    assert bootstrap.split_env({"JUPYTERHUB_API_TOKEN": "t", "X": "t", "Y": "u"}, "t") == {"Y": "u"}


def test_a_start_that_gives_up_and_cannot_stop_its_task_says_so_and_keeps_it(hub_with, aws):
    client = DenyStopTask(aws.client())
    hub = hub_with(client_factory=lambda: client, start_timeout=4, start_deadline_margin=1)

    async def scenario():
        return await hub.spawn(hub.user("gina"), "", {"service": "chat"})  # never turns HEALTHY on moto

    with pytest.raises(SpawnException) as caught:
        asyncio.run(scenario())
    assert "Stopping the task failed; the hub retries it." in str(caught.value)
    assert "The task was stopped" not in str(caught.value)
    assert len(pending_stops_for(HUB_ID)) == 1

"""Issue 8's hub-side defects, fast: options hook, form, start deadline, AWS errors, one poll result per end,
no private addresses, logs in the hub's log, the reaper and warnings at hub start-up."""

from __future__ import annotations

import asyncio
import logging
import types
from html.parser import HTMLParser

import pytest
from jupyterhub.spawner import SpawnException
from prometheus_client import REGISTRY

from ecsspawner import hubstart
from ecsspawner import reader as reader_module
from ecsspawner import reaper as reaper_module
from ecsspawner.homes import user_family

HUB_ID = "hub-a"  # as in conftest.py
TEN_HOURS = 36_000


def run(coro):
    return asyncio.run(coro)


def count_calls(client, operation: str) -> list:
    calls: list = []
    client.meta.events.register(f"before-call.ecs.{operation}", lambda params, **_: calls.append(params))
    return calls


def poll_results(result: str) -> float:
    return REGISTRY.get_sample_value("ecsspawner_poll_results_total", {"result": result}) or 0.0


# --- defect 5: options through apply_user_options ---------------------------------


def test_options_go_through_apply_user_options_and_nothing_is_unhandled(hub, aws, caplog):
    caplog.set_level(logging.WARNING)

    async def scenario():
        spawner = hub.spawner(hub.user("alice"), "")
        await spawner._run_apply_user_options({"service": "lab", "size": "large"})  # what User.spawn calls
        return await hub.spawn(hub.user("alice"), "", {"service": "lab", "size": "large"})

    spawner = run(scenario())
    assert "unhandled user_options" not in caplog.text.lower()
    assert spawner._choice[1].family == f"{aws.PREFIX}-lab-large"
    family = user_family(f"{aws.PREFIX}-lab-large", aws.HUB_ID, spawner.user.name)  # lab: per-user EFS home
    assert aws.task(spawner.task_arn).task_definition_arn.split("/")[-1] == f"{family}:1"


# --- defect 6: the form offers each service's own sizes, without JavaScript --------


class _Form(HTMLParser):
    def __init__(self):
        super().__init__()
        self.groups: dict[str, list[str]] = {}
        self.selected: list[str] = []
        self.scripts = 0
        self._group = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            self.scripts += 1
        elif tag == "optgroup":
            self._group = attrs["label"].split(":")[0]
            self.groups[self._group] = []
        elif tag == "option":
            self.groups[self._group].append(attrs["value"])
            if "selected" in attrs:
                self.selected.append(attrs["value"])


def test_form_offers_only_each_services_sizes_and_parses_back(hub):
    spawner = hub.spawner(hub.user("alice"), "")
    form = _Form()
    form.feed(run(spawner.get_options_form()))
    catalog = spawner.catalog
    assert form.groups == {s.name: [f"{s.name}/{size}" for size in s.sizes] for s in catalog.services}
    assert "chat/xlarge" not in form.groups["chat"]
    assert form.selected == ["lab/medium"] and form.scripts == 0
    assert spawner.run_options_from_form({"choice": ["waiide/small"]}) == {"service": "waiide", "size": "small"}
    assert spawner.run_options_from_form({"service": ["chat"], "size": ["small"]}) == {
        "service": "chat",
        "size": "small",
    }


# --- defect 3: a start that never turns HEALTHY says why ---------------------------


def test_never_healthy_start_fails_naming_health_status_check_and_simulated_time(hub_with, aws):
    hub = hub_with(start_timeout=2, start_deadline_margin=0.5)

    async def scenario():
        spawner = hub.spawner(hub.user("nora"), "")
        with pytest.raises(SpawnException) as err:
            await hub.spawn(hub.user("nora"), "", {"service": "chat"})  # moto never reports HEALTHY
        return spawner, err.value

    spawner, err = run(scenario())
    assert "last health status UNKNOWN" in err.message
    assert "(interval 15 s, timeout 10 s, retries 8, start period 45 s)" in err.message
    assert "should report HEALTHY by 54 s (simulated" in err.message
    assert aws.task(spawner.task_arn).last_status == "STOPPED"


# --- defect 4: every AWS error in start() is a SpawnException naming call and code ---


@pytest.mark.parametrize(
    "operation, code, message",
    [
        ("list_tasks", "ClusterNotFoundException", "Cluster not found."),
        ("describe_task_definition", "AccessDeniedException", "not authorized"),
        ("run_task", "InvalidParameterException", "subnet does not exist"),
    ],
)
def test_aws_errors_in_start_are_spawn_exceptions_naming_call_and_code(hub, aws, operation, code, message):
    client, stub = aws.stubbed()
    steps = ["list_tasks", "describe_task_definition", "run_task"]
    replies = {
        "list_tasks": {"taskArns": []},
        "describe_task_definition": {
            "taskDefinition": {"containerDefinitions": [{"name": "notebook", "essential": True}]}
        },
    }
    for step in steps[: steps.index(operation)]:
        stub.add_response(step, replies[step])
    stub.add_client_error(operation, service_error_code=code, service_message=message, http_status_code=400)
    stub.activate()
    spawner = hub.spawner(hub.user("olga"), "")
    spawner.client_factory = lambda: client
    spawner.default_service = "chat"  # no EFS home: this test is about RunTask alone
    with pytest.raises(SpawnException) as err:
        run(spawner.start())
    call = "".join(part.capitalize() for part in operation.split("_"))
    assert f"ECS {call} failed: {code}: {message}" in err.value.message
    assert err.value.status_code == 500
    assert run(spawner.poll()) == 0


# --- defect 7: one ending server, one poll result, one StopTask ---------------------


def test_unhealthy_server_gives_one_result_and_one_stoptask_through_user_stop(hub, aws):
    client = aws.client()
    stops = count_calls(client, "StopTask")
    before = poll_results("unhealthy")

    async def scenario():
        alice = hub.user("pat")
        spawner = await hub.spawn(alice, "", {"service": "lab"})
        aws.task(spawner.task_arn).health_status = "UNHEALTHY"
        reader_module.reset_shared()
        first = await spawner.poll()  # the hub's periodic poll
        await alice.stop("")  # what the hub does next: polls again, clears state
        return first

    try:
        assert run(scenario()) == 1
    finally:
        client.meta.events.unregister("before-call.ecs.StopTask")
    assert len(stops) == 1
    assert poll_results("unhealthy") == before + 1


def test_stopped_server_gives_one_result_through_user_stop(hub, aws, caplog):
    before = poll_results("stopped")

    async def scenario():
        user = hub.user("quinn")
        spawner = await hub.spawn(user, "", {"service": "lab"})
        aws.stop_behind_hubs_back(spawner.task_arn, exit_code=137)
        reader_module.reset_shared()
        results = [await spawner.poll(), await spawner.poll()]
        await user.stop("")
        return results

    assert run(scenario()) == [137, 137]
    assert poll_results("stopped") == before + 1
    assert caplog.text.count("stopped (EssentialContainerExited") == 1


# --- defect 10: users never see the private address ---------------------------------


def test_progress_never_shows_the_private_address(hub, aws):
    async def scenario():
        spawner = hub.spawner(hub.user("rita"), "")
        spawner.user_options = {"service": "lab"}
        ip, _ = await spawner.start()
        return ip, [e async for e in spawner.progress()]

    ip, events = run(scenario())
    assert ip.startswith("10.") and len(events) >= 2
    assert not any(ip in e["message"] for e in events)


# --- defect 2 and 9, start-up warning: the hub's start -------------------------------


def hub_logger() -> tuple[logging.Logger, list[str]]:
    lines: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(f"{record.levelname} {record.getMessage()}")
    log = logging.getLogger("FakeJupyterHub")
    log.handlers[:] = [handler]
    log.setLevel(logging.INFO)
    log.propagate = False
    return log, lines


def fake_app(hub, hub_log: logging.Logger) -> types.SimpleNamespace:
    """What hubstart.attach reads of a JupyterHub application: the hub's spawner config, log, db and users."""
    return types.SimpleNamespace(
        spawner_class=hub.settings["spawner_class"],
        config=hub.settings["config"],
        log=hub_log,
        db=hub.db,
        tornado_settings={"users": hub.users},
    )


@pytest.fixture
def restore_package_logger():
    ours = logging.getLogger("ecsspawner")
    saved = ours.parent, ours.propagate, ours.level
    yield
    ours.parent, ours.propagate = saved[0], saved[1]
    ours.setLevel(saved[2])


def test_module_loggers_write_to_the_hubs_log(restore_package_logger):
    hub_log, lines = hub_logger()
    hubstart.adopt_logs(hub_log)
    logging.getLogger("ecsspawner.reader").info("hello from the reader")
    assert lines == ["INFO hello from the reader"]


def test_reaper_starts_with_the_hub_before_any_spawner_and_sweeps(hub_with, aws, restore_package_logger):
    """A hub restarted with no running servers builds no spawner; the reaper must sweep all the same."""
    from tests.spawner.test_reaper import launch_untracked

    hub = hub_with(reaper_interval=0.05, reaper_dry_run=False)
    orphan = launch_untracked(aws, hub_id=HUB_ID, user="gone", server="", spawn_id="lost", age=TEN_HOURS)
    hub_log, lines = hub_logger()
    app = fake_app(hub, hub_log)

    async def scenario():
        assert hubstart.attach(app)
        assert reaper_module._running.get(HUB_ID) is not None
        for _ in range(400):  # two sweeps 0.05 s apart; roomy for a loaded machine
            await asyncio.sleep(0.05)
            if aws.task(orphan).last_status == "STOPPED":
                break

    run(scenario())
    assert not any(dict.values(u.spawners) for u in dict.values(hub.users))  # no spawner was ever built
    assert aws.task(orphan).last_status == "STOPPED"
    assert any(line.startswith(f"INFO orphan reaper: stopped {orphan}") for line in lines)


def test_start_up_warns_when_start_timeout_is_shorter_than_time_to_healthy(hub_with, restore_package_logger):
    hub = hub_with(start_timeout=50)
    hub_log, lines = hub_logger()
    app = fake_app(hub, hub_log)
    run(asyncio.sleep(0, result=hubstart.attach(app)))
    warnings = [line for line in lines if line.startswith("WARNING ECSSpawner: start_timeout")]
    assert len(warnings) == 2
    assert "service 'chat'" in warnings[0] and "service 'waiide'" in warnings[1]
    assert "worst-case time to HEALTHY, 54 s" in warnings[0]
    assert not any("'lab'" in w for w in warnings)  # lab does not wait for HEALTHY
    patient = hub_with(start_timeout=600)
    assert hubstart.timeout_warnings(patient.spawner(patient.user("x"), "")) == []


def test_start_up_error_when_per_user_homes_have_no_file_system(hub_with, restore_package_logger):
    """A hub whose catalog has per-user EFS homes but no file system says so when it starts, not at a spawn."""
    hub = hub_with(efs_file_system_id="")
    hub_log, lines = hub_logger()
    app = fake_app(hub, hub_log)
    run(asyncio.sleep(0, result=hubstart.attach(app)))
    errors = [line for line in lines if line.startswith("ERROR ECSSpawner:") and "efs" in line]
    assert errors == [
        "ERROR ECSSpawner: service(s) 'lab' declare efs per_user: true but c.ECSSpawner.efs_file_system_id is not "
        "set: every spawn of them will fail; set it to the stack's output HomeFileSystemId (the example config "
        "reads EFS_FILE_SYSTEM_ID)"
    ]
    configured = hub_with()
    assert hubstart.home_errors(configured.spawner(configured.user("x"), "")) == []

"""Tasks with several containers: which one stopped, what start() waits for, ECS Exec on RunTask."""

from __future__ import annotations

import asyncio
import shutil

from ecsspawner import taskview
from tests.catalogs import HUB_CATALOG_SERVICES, HUB_CATALOG_SIZES


def run(coro):
    return asyncio.run(coro)


def task(*containers: dict) -> dict:
    return {"lastStatus": "STOPPED", "containers": list(containers)}


def test_the_essential_container_that_exited_is_named_not_the_ones_ecs_stopped():
    """data-agent exits 3; ECS then stops chat (SIGTERM: 143). The cause is data-agent, whatever the order."""
    stopped = task({"name": "chat", "exitCode": 143}, {"name": "data-agent", "exitCode": 3})
    assert taskview.first_stopped(stopped, ["chat", "data-agent"]) == ("data-agent", 3)
    assert taskview.exit_code(stopped, ["chat", "data-agent"]) == 3
    assert (
        taskview.stopped_container_text(stopped, ["chat", "data-agent"]) == "; container data-agent exited with code 3"
    )


def test_non_essential_containers_do_not_decide_and_a_clean_exit_counts_after_failures():
    stopped = task({"name": "chat", "exitCode": 0}, {"name": "init", "exitCode": 1}, {"name": "agent", "exitCode": 137})
    assert taskview.first_stopped(stopped, ["chat", "agent"]) == ("chat", 0)
    assert taskview.exit_code(task({"name": "chat"}), ["chat"]) == 1  # never started: no code
    assert taskview.stopped_container_text(task({"name": "chat"}), ["chat"]) == ""


def test_waiting_for_names_the_dependency_that_is_not_ready():
    running = {
        "containers": [
            {"name": "chat", "lastStatus": "PENDING"},
            {"name": "data-agent", "lastStatus": "RUNNING", "healthStatus": "UNKNOWN"},
        ]
    }
    assert taskview.waiting_for(running, {"data-agent": "HEALTHY"}) == "data-agent"
    running["containers"][1]["healthStatus"] = "HEALTHY"
    assert taskview.waiting_for(running, {"data-agent": "HEALTHY"}) is None
    assert taskview.waiting_for(running, {}) is None


def test_exec_enabled_service_runs_its_task_with_enable_execute_command(hub_with, aws, tmp_path):
    services = tmp_path / "services"
    shutil.copytree(HUB_CATALOG_SERVICES, services)
    lab = services / "lab.yaml"
    lab.write_text(lab.read_text() + "exec_enabled: true\n")
    client, sent = aws.scripted("RunTask", [])
    hub = hub_with(services_dir=str(services), sizes_file=str(HUB_CATALOG_SIZES), client_factory=lambda: client)
    user = hub.user("eve")
    run(hub.spawn(user, "", {"service": "lab"}))
    assert [body.get("enableExecuteCommand") for body in sent] == [True]


def test_services_without_exec_do_not_ask_for_it(hub_with, aws):
    client, sent = aws.scripted("RunTask", [])
    hub = hub_with(client_factory=lambda: client)
    run(hub.spawn(hub.user("fay"), "", {"service": "lab"}))
    assert len(sent) == 1 and "enableExecuteCommand" not in sent[0]


def test_progress_names_the_sidecar_the_server_waits_for_and_a_stop_names_the_container(hub_with, aws, tmp_path):
    """waiide waits for its data-agent to be HEALTHY: progress says so by name; the agent then exits 3
    and the spawn fails naming it (moto models one container: the test adds the sidecar's)."""
    import copy

    import pytest
    from jupyterhub.spawner import SpawnException

    services = tmp_path / "services"
    shutil.copytree(HUB_CATALOG_SERVICES, services)
    waiide = services / "waiide.yaml"
    waiide.write_text(
        waiide.read_text()
        + "depends_on: {data-agent: HEALTHY}\nsidecars:\n  - name: data-agent\n    image: example/agent:1\n"
        "    port: 5000\n    essential: true\n"
        "    health_check: {interval: 10, timeout: 5, retries: 6, start_period: 30}\n"
    )
    # A revision with both containers, as the CDK app synthesizes it (both essential).
    revision = aws.client().register_task_definition(
        family="test-hub-waiide-small",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="512",
        memory="2048",
        containerDefinitions=[
            {"name": "notebook", "image": "example/ide:1", "memory": 1024, "essential": True},
            {"name": "data-agent", "image": "example/agent:1", "memory": 1024, "essential": True},
        ],
    )
    hub = hub_with(services_dir=str(services), sizes_file=str(HUB_CATALOG_SIZES))
    spawner = hub.spawner(hub.user("gil"), "")
    spawner.user_options = {"service": "waiide", "size": "small"}
    messages: list[str] = []

    async def scenario():
        async def drive():
            async for event in spawner.progress():
                messages.append(event["message"])
                if not spawner.task_arn:
                    continue
                moto_task = aws.task(spawner.task_arn)
                if len(moto_task.containers) == 1:
                    agent = copy.copy(moto_task.containers[0])
                    agent.name, agent.health_status = "data-agent", "UNKNOWN"
                    moto_task.containers[0].exitCode = None
                    agent.exitCode = None
                    moto_task.containers.append(agent)
                if event["message"] == "Waiting for data-agent to be healthy":
                    moto_task.containers[1].exitCode = 3
                    moto_task.containers[0].exitCode = 143
                    moto_task.last_status = moto_task.desired_status = "STOPPED"
                    moto_task.stop_code = "EssentialContainerExited"
                    moto_task.stopped_reason = "Essential container in task exited"

        with pytest.raises(SpawnException) as excinfo:
            await asyncio.gather(spawner.start(), drive())
        return excinfo.value

    try:
        error = run(scenario())
    finally:  # moto lives for the session: other tests get the one-container revision back
        aws.client().deregister_task_definition(taskDefinition=revision["taskDefinition"]["taskDefinitionArn"])
    assert "Waiting for data-agent to be healthy" in messages
    assert "container data-agent exited with code 3" in str(error)

"""Every container of a task: sidecars, dependsOn, variables, secrets and their grants, runtime platform,
storage, stop timeout and ECS Exec, on a fixture service in a bare Stack."""

from __future__ import annotations

from pathlib import Path

import pytest

from hubspec import load_catalog
from hubspec.render import render_container_check
from tests.catalogs import FIXTURE_SIZES
from tests.cdk.conftest import add_nag, nag_report

pytestmark = pytest.mark.synth

INPUTS = Path(__file__).parent / "inputs"
SIDECARS = load_catalog(INPUTS / "sidecars" / "services", FIXTURE_SIZES)
SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf"
PARAMETER = "arn:aws:ssm:eu-west-1:123456789012:parameter/hub/token"
EXEC_ACTIONS = [
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
]


@pytest.fixture(scope="module")
def outdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cdk-containers")


@pytest.fixture(scope="module")
def stack(outdir):
    from aws_cdk import App, Stack
    from aws_cdk.assertions import Template

    from hubcdk import HubTaskDefinitions, HubTaskRoles, container_images, environment_log_group, log_group_name

    app = App(outdir=str(outdir))
    add_nag(app)
    scope = Stack(app, "containers")
    roles = HubTaskRoles(scope, "Roles", prefix="t")
    spec = SIDECARS.service("chat")
    # As the shared stack grants them: from the catalog, once (the task-definition stacks grant nothing).
    roles.grant_task_start(
        log_group=environment_log_group(scope, "Logs", prefix="t", retention=1),
        images=container_images(spec, spec.image).values(),
        secrets=[arn for c in spec.containers for arn in c.secrets.values()],
        exec_enabled=spec.exec_enabled,
    )
    HubTaskDefinitions(
        scope,
        "chat",
        services=[spec],
        sizes=SIDECARS.sizes,
        prefix="t",
        task_role_arn=roles.task_role.role_arn,
        execution_role_arn=roles.execution_role.role_arn,
        log_group_name=log_group_name("t"),
    )
    return Template.from_stack(scope).to_json()["Resources"]


def task_definition(resources) -> dict:
    (props,) = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::ECS::TaskDefinition"]
    return props


def policy(resources, role_prefix: str) -> list[dict]:
    (statements,) = [
        r["Properties"]["PolicyDocument"]["Statement"]
        for r in resources.values()
        if r["Type"] == "AWS::IAM::Policy" and r["Properties"]["Roles"][0]["Ref"].startswith(role_prefix)
    ]
    return statements


def test_every_container_in_file_order_with_its_own_check(stack):
    boxes = task_definition(stack)["ContainerDefinitions"]
    spec = SIDECARS.service("chat")
    assert [b["Name"] for b in boxes] == [c.name for c in spec.containers] == ["chat", "data-agent", "init"]
    assert [b["Essential"] for b in boxes] == [True, True, False]
    for box, container in zip(boxes, spec.containers, strict=True):
        rendered = render_container_check(container)  # one render path for the server and its sidecars
        assert box.get("HealthCheck") == (
            None
            if rendered is None
            else {k[0].upper() + k[1:]: v for k, v in rendered.to_ecs().items()}  # CloudFormation's casing
        )
    assert "PortMappings" not in boxes[1]  # only the server's port is mapped
    assert boxes[0]["PortMappings"] == [{"ContainerPort": 8888, "Protocol": "tcp"}]


def test_depends_on_and_variables(stack):
    chat, agent, init = task_definition(stack)["ContainerDefinitions"]
    assert chat["DependsOn"] == [
        {"Condition": "HEALTHY", "ContainerName": "data-agent"},
        {"Condition": "SUCCESS", "ContainerName": "init"},
    ]
    assert agent["DependsOn"] == [{"Condition": "SUCCESS", "ContainerName": "init"}]
    assert "DependsOn" not in init
    assert chat["Environment"] == [{"Name": "LOG_LEVEL", "Value": "info"}]
    assert agent["Environment"] == [{"Name": "AGENT_MODE", "Value": "server"}]
    assert chat["Secrets"] == [
        {"Name": "DB_PASSWORD", "ValueFrom": SECRET + ":password::"},  # as written: ECS reads the key
        {"Name": "TOKEN", "ValueFrom": PARAMETER},
    ]


def test_task_settings_render(stack):
    props = task_definition(stack)
    assert props["RuntimePlatform"] == {"CpuArchitecture": "ARM64", "OperatingSystemFamily": "LINUX"}
    assert props["EphemeralStorage"] == {"SizeInGiB": 50}
    for box in props["ContainerDefinitions"]:
        assert box["StopTimeout"] == 30
        assert box["LinuxParameters"]["InitProcessEnabled"] is True


def test_execution_role_reads_exactly_the_secrets(stack):
    """One read action on exactly each ARN; the `:password::` suffix is not part of the grant."""
    secret_statements = [
        s for s in policy(stack, "RolesExecutionRole") if str(s["Action"]).startswith(("secretsmanager", "ssm"))
    ]
    assert secret_statements == [
        {"Action": "secretsmanager:GetSecretValue", "Effect": "Allow", "Resource": SECRET},
        {"Action": "ssm:GetParameters", "Effect": "Allow", "Resource": PARAMETER},
    ]


def test_exec_gives_the_task_role_the_four_ssmmessages_actions(stack):
    assert policy(stack, "RolesTaskRole") == [{"Action": EXEC_ACTIONS, "Effect": "Allow", "Resource": "*"}]


def test_sidecar_private_image_gets_pull_rights(stack):
    pulls = [s for s in policy(stack, "RolesExecutionRole") if "ecr:BatchGetImage" in s["Action"]]
    assert [s["Resource"] for s in pulls] == ["arn:aws:ecr:eu-west-1:123456789012:repository/init"]


@pytest.mark.catalog
def test_unset_settings_render_nothing(hub):
    """A service without the new keys keeps its one container and no new properties (stable templates)."""
    for spec in hub.inputs.catalog.services:
        if spec.sidecars or spec.cpu_architecture or spec.exec_enabled:
            continue
        for family, props in hub.task_definitions().items():
            if family.startswith(f"{hub.settings.prefix}-{spec.name}-"):
                assert "RuntimePlatform" not in props and "EphemeralStorage" not in props
                (box,) = props["ContainerDefinitions"]
                assert not {"DependsOn", "Environment", "Secrets", "StopTimeout", "LinuxParameters"} & set(box)


def test_cdk_nag_findings_are_acknowledged_narrowly_with_reasons(stack, outdir):
    """AwsSolutions finds plain environment (ECS2) and two `Resource::*` grants (IAM5: ECS Exec's
    ssmmessages, ecr:GetAuthorizationToken); each is acknowledged on the one construct it concerns."""
    (report,) = nag_report(outdir)
    assert report["pluginName"] == "AwsSolutions" and report["violations"] == []
    acknowledged = sorted(
        (v["ruleName"], v["acknowledgedAt"], c["constructPath"])
        for v in report["suppressedViolations"]
        for c in v["violatingConstructs"]
    )
    assert acknowledged == [
        ("AwsSolutions-ECS2", "containers/chat", "containers/chat/chatsmallA415B227"),
        (
            "AwsSolutions-IAM5[Resource::*]",
            "containers/Roles/ExecutionRole/DefaultPolicy",
            "containers/Roles/ExecutionRole/DefaultPolicy/Resource",
        ),
        (
            "AwsSolutions-IAM5[Resource::*]",
            "containers/Roles/TaskRole/DefaultPolicy",
            "containers/Roles/TaskRole/DefaultPolicy/Resource",
        ),
    ]
    assert all(len(v["reason"]) > 40 for v in report["suppressedViolations"])


def test_cdk_nag_runs_and_refuses_an_unacknowledged_finding(tmp_path):
    """The pack is live in these tests: plain environment without the construct's acknowledgement fails synth."""
    from aws_cdk import App, Stack
    from aws_cdk import aws_ecs as ecs

    app = App(outdir=str(tmp_path))
    add_nag(app)
    scope = Stack(app, "bare")
    task_definition = ecs.FargateTaskDefinition(scope, "Task", cpu=256, memory_limit_mib=512)
    task_definition.add_container(
        "Box",
        image=ecs.ContainerImage.from_registry("example/box:1"),
        environment={"A": "b"},
        logging=ecs.LogDriver.aws_logs(stream_prefix="box"),
    )
    with pytest.raises(Exception, match="ValidationFailed"):
        app.synth()
    (report,) = nag_report(tmp_path)
    assert "AwsSolutions-ECS2" in {v["ruleName"] for v in report["violations"]}

"""hubcdk constructs on inputs the bundled services do not cover: every probe kind, extreme
timings, lint annotations, image overrides and every log retention."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

from hubspec import load_catalog, render_health_check
from hubspec.health.lint import Finding, lint_catalog
from hubspec.render import RenderedHealthCheck
from stacks.context import LOG_RETENTION_DAYS
from tests.catalogs import FIXTURE_SIZES, HUB_CATALOG_SERVICES, HUB_CATALOG_SIZES
from tests.cdk.expect import execution_role_statements

pytestmark = pytest.mark.synth

ROOT = Path(__file__).resolve().parents[2]
INPUTS = Path(__file__).parent / "inputs"

EDGE = load_catalog(INPUTS / "edge" / "services", FIXTURE_SIZES)
EDGE_FINDINGS = tuple(lint_catalog(EDGE))
HUB_CATALOG = load_catalog(HUB_CATALOG_SERVICES, HUB_CATALOG_SIZES)
# An error that reached the stack without going through the app's check still fails synth.
STRAY_ERROR = Finding(
    file="services/tcpprobe.yaml",
    line=3,
    path="port",
    rule="HC010",
    severity="error",
    message="probes port 1, but the service exposes port 9000",
    service="tcpprobe",
)


@pytest.fixture(scope="module")
def edge_app(tmp_path_factory):
    """One App, three stacks: the edge catalog's shared stack and its task definitions (all in one stack,
    with an image override), and every retention."""
    from aws_cdk import Stack
    from aws_cdk.assertions import Annotations, Template

    from hubcdk import environment_log_group
    from stacks.app_builder import create_app
    from stacks.context import read_cdk_json_context
    from stacks.hub_stack import HubSharedStack, HubTaskDefinitionsStack

    app = create_app(context=read_cdk_json_context(ROOT / "cdk.json"), outdir=str(tmp_path_factory.mktemp("cdk-edge")))
    images = {"pyprobe": "registry.example/py:2"}
    shared = HubSharedStack(
        app, "edge-shared", catalog=EDGE, findings=EDGE_FINDINGS, prefix="edge", images=images, log_retention_days=1
    )
    edge = HubTaskDefinitionsStack(
        app,
        "edge",
        services=EDGE.services,
        sizes=EDGE.sizes,
        findings=EDGE_FINDINGS,
        prefix="edge",
        images=images,
        bucket="00",
    )
    retention = Stack(app, "retention")
    for days in LOG_RETENTION_DAYS:
        environment_log_group(retention, f"Days{days}", prefix=f"r{days}", retention=days)
    return {
        "shared": Template.from_stack(shared),
        "edge": Template.from_stack(edge),
        "edge_annotations": Annotations.from_stack(edge),
        "retention": Template.from_stack(retention),
    }


def containers(template) -> dict[str, dict]:
    return {
        r["Properties"]["Family"]: r["Properties"]["ContainerDefinitions"][0]
        for r in template.find_resources("AWS::ECS::TaskDefinition").values()
    }


def test_every_probe_kind_passes_through_unchanged(edge_app):
    boxes = containers(edge_app["edge"])
    assert sorted(boxes) == [
        "edge-pyprobe-small",
        "edge-tcpprobe-small",
        "edge-tcpprobe-xlarge",
        "edge-wgetprobe-medium",
    ]
    for family, box in boxes.items():
        spec = EDGE.service(family.split("-")[1])
        hc = spec.health_check
        assert box["HealthCheck"] == {
            "Command": list(render_health_check(spec).command),
            "Interval": hc.interval,
            "Timeout": hc.timeout,
            "Retries": hc.retries,
            "StartPeriod": hc.start_period,
        }
        assert box["PortMappings"] == [{"ContainerPort": spec.port, "Protocol": "tcp"}]


def test_exec_form_and_zero_start_period(edge_app):
    check = containers(edge_app["edge"])["edge-pyprobe-small"]["HealthCheck"]
    assert check["Command"][:3] == ["CMD", "python3", "-c"] and len(check["Command"]) == 4
    assert check["StartPeriod"] == 0  # rendered, not dropped: ECS would otherwise use no start period too
    assert (check["Interval"], check["Timeout"]) == (5, 5)


def test_image_override_changes_only_that_image(edge_app):
    boxes = containers(edge_app["edge"])
    assert boxes["edge-pyprobe-small"]["Image"] == "registry.example/py:2"
    assert boxes["edge-tcpprobe-small"]["Image"] == EDGE.service("tcpprobe").image


def test_image_override_changes_nothing_else(tmp_path, cdk_tools):
    catalog = {"services_dir": str(HUB_CATALOG_SERVICES), "sizes_file": str(HUB_CATALOG_SIZES)}
    first = cdk_tools.synthesize(tmp_path / "before", **catalog)
    other = cdk_tools.synthesize(tmp_path / "after", **catalog, images='{"waiide": "registry.example/waiide:7"}')
    before, after = first.resources, other.resources
    changed = {lid for lid in before if before[lid] != after[lid]}
    assert changed == {"waiidesmall0D14CF5B", "waiidemedium6D8C688F", "waiidelarge1D393FB9"}
    for lid in changed:
        resource = copy.deepcopy(after[lid])
        (box,) = resource["Properties"]["ContainerDefinitions"]
        assert box["Image"] == "registry.example/waiide:7"
        box["Image"] = other.inputs.catalog.service("waiide").image
        assert resource == before[lid]
    assert set(first.templates) == set(other.templates)
    for name, template in first.templates.items():
        rest = {k: v for k, v in template.to_json().items() if k != "Resources"}
        assert rest == {k: v for k, v in other.templates[name].to_json().items() if k != "Resources"}


ECR_IMAGES = {
    "chat": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/chat:1.4",
    "lab": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/lab@sha256:" + "a" * 64,
    "waiide": "public.ecr.aws/team/waiide:2",  # ECR Public: pulled anonymously, no grant
}


@pytest.fixture(scope="module")
def ecr_stack(tmp_path_factory):
    """The constructs in a bare Stack, two services on private ECR images and one on a public image."""
    from aws_cdk import Stack
    from aws_cdk.assertions import Annotations, Template

    from hubcdk import HubHomeFileSystem, HubTaskDefinitions, HubTaskRoles, environment_log_group, log_group_name
    from stacks.app_builder import create_app
    from stacks.context import read_cdk_json_context

    app = create_app(context=read_cdk_json_context(ROOT / "cdk.json"), outdir=str(tmp_path_factory.mktemp("ecr")))
    stack = Stack(app, "ecr")
    roles = HubTaskRoles(stack, "Roles", prefix="ecr")
    logs = environment_log_group(stack, "Logs", prefix="ecr", retention=1)
    roles.grant_task_start(log_group=logs, images=ECR_IMAGES.values())
    home = HubHomeFileSystem(stack, "Homes", services=HUB_CATALOG.services, task_role=roles.task_role, prefix="ecr")
    HubTaskDefinitions(
        stack,
        "TaskDefinitions",
        services=HUB_CATALOG.services,
        sizes=HUB_CATALOG.sizes,
        prefix="ecr",
        images=ECR_IMAGES,
        task_role_arn=roles.task_role.role_arn,
        execution_role_arn=roles.execution_role.role_arn,
        log_group_name=log_group_name("ecr"),
        home=home,
    )
    return Template.from_stack(stack), Annotations.from_stack(stack)


def test_private_ecr_images_give_the_execution_role_exactly_their_pull_rights(ecr_stack):
    template, _ = ecr_stack
    execution = [
        p
        for p in template.find_resources("AWS::IAM::Policy").values()
        if p["Properties"]["Roles"] == [{"Ref": "RolesExecutionRoleAB9762F7"}]
    ]
    assert len(execution) == 1
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "Roles": [{"Ref": "RolesExecutionRoleAB9762F7"}],
            "PolicyDocument": {
                "Statement": execution_role_statements(
                    "Logs6819BB44",
                    [
                        "arn:aws:ecr:eu-west-1:123456789012:repository/chat",
                        "arn:aws:ecr:eu-west-1:123456789012:repository/team/lab",
                    ],
                ),
                "Version": "2012-10-17",
            },
        },
    )
    template.resource_count_is("AWS::ECR::Repository", 0)  # referenced, never created


def test_ecr_images_are_rendered_as_written_and_leave_no_warning(ecr_stack):
    from aws_cdk.assertions import Match

    template, annotations = ecr_stack
    images = {box["Name"]: box["Image"] for box in containers(template).values()}
    assert images == ECR_IMAGES
    assert annotations.find_warning("*", Match.any_value()) == []


def test_public_images_add_no_ecr_rights(edge_app):
    (policy,) = edge_app["shared"].find_resources("AWS::IAM::Policy").values()
    assert policy["Properties"]["PolicyDocument"]["Statement"] == execution_role_statements("Logs6819BB44", [])


def test_lint_warnings_become_warning_annotations_on_the_service(edge_app):
    from aws_cdk.assertions import Match

    annotations = edge_app["edge_annotations"]
    open_warnings = [f for f in EDGE_FINDINGS if f.severity == "warning" and not f.acknowledged]
    assert open_warnings
    for finding in open_warnings:
        annotations.has_warning(
            f"/edge/TaskDefinitions/{finding.service}", Match.string_like_regexp(_annotation(finding))
        )
    assert len(annotations.find_warning("*", Match.any_value())) == len(open_warnings)


def test_lint_warnings_name_the_yaml_acknowledgement_not_cdks(edge_app):
    """Issue 13 (d): no aws-cdk-lib ack id (the CLI's "Acknowledge with ..."), but lint_acknowledge with accepts."""
    from aws_cdk.assertions import Match

    warnings = edge_app["edge_annotations"].find_warning("*", Match.any_value())
    texts = [str(w.entry.data) for w in warnings]
    assert texts and all("lint_acknowledge: [{rule: HC" in t and "accepts: '" in t for t in texts), texts
    assert not any("[ack:" in t or "Acknowledge with" in t for t in texts)


def test_acknowledged_warning_is_not_annotated(edge_app):
    from aws_cdk.assertions import Match

    (acked,) = [f for f in EDGE_FINDINGS if f.acknowledged]
    assert (acked.service, acked.rule) == ("wgetprobe", "HC006")
    annotations = edge_app["edge_annotations"]
    for find in (annotations.find_warning, annotations.find_info, annotations.find_error):
        assert not find("/edge/TaskDefinitions/wgetprobe", Match.string_like_regexp("HC006"))
    assert annotations.find_warning(
        "/edge/TaskDefinitions/wgetprobe", Match.string_like_regexp("HC007")
    )  # its open warning


def test_error_finding_fails_synth_even_past_the_app_check(tmp_path):
    from stacks.app_builder import create_app
    from stacks.context import read_cdk_json_context
    from stacks.hub_stack import HubTaskDefinitionsStack

    app = create_app(context=read_cdk_json_context(ROOT / "cdk.json"), outdir=str(tmp_path))
    HubTaskDefinitionsStack(
        app,
        "broken",
        services=EDGE.services,
        sizes=EDGE.sizes,
        findings=(STRAY_ERROR,),
        prefix="b",
        images={},
        bucket="00",
    )
    with pytest.raises(RuntimeError, match="ValidationFailed") as excinfo:
        app.synth()
    assert f"ERROR {STRAY_ERROR}" in str(excinfo.value)


def test_a_grant_to_a_shared_role_in_a_task_definition_stack_is_refused():
    """The roles there are imported by name: a grant would add an inline policy per stack to the shared
    role (IAM caps their total size), so it must be made in the shared stack, from the catalog."""
    from aws_cdk import App, Stack
    from aws_cdk import aws_logs as logs

    from hubcdk import check_no_grants, imported_task_roles

    stack = Stack(App(), "shard")
    task_role, execution_role = imported_task_roles(stack, prefix="p")
    check_no_grants(task_role, execution_role)  # nothing granted yet
    logs.LogGroup.from_log_group_name(stack, "Logs", "/ecs/p").grant_write(execution_role)
    with pytest.raises(ValueError, match=r"a grant to the shared role shard/ExecutionRole was made in a task-def"):
        check_no_grants(task_role, execution_role)


def test_every_log_retention_maps_to_its_day_count(edge_app):
    groups = edge_app["retention"].find_resources("AWS::Logs::LogGroup").values()
    assert sorted((g["Properties"]["LogGroupName"], g["Properties"]["RetentionInDays"]) for g in groups) == sorted(
        (f"/ecs/r{d}", d) for d in LOG_RETENTION_DAYS
    )


def test_retention_outside_cloudwatch_values_is_refused():
    from hubcdk import retention_days

    with pytest.raises(ValueError, match="31 is not a CloudWatch Logs retention"):
        retention_days(31)


@pytest.mark.parametrize("command", [("CMD-SHELL",), ("curl -f http://x",), ("NONE",), ("SHELL", "true")])
def test_short_or_unknown_commands_are_refused(command):
    """aws-cdk-lib would turn a one-element list into CMD-SHELL; hubcdk refuses instead."""
    from hubcdk import ecs_health_check

    rendered = RenderedHealthCheck(
        command=command, interval=30, timeout=5, retries=3, start_period=0, port=8888, url=None, give_up=4
    )
    with pytest.raises(ValueError, match="must start with CMD or CMD-SHELL"):
        ecs_health_check(rendered)


def _annotation(finding: Finding) -> str:
    """The annotation text: the finding, then the YAML way to accept it (no aws-cdk-lib ack id)."""
    accepts = f", accepts: {finding.measured!r}" if finding.measured else ""
    hint = f"to accept it on purpose, add to {finding.file}: lint_acknowledge: [{{rule: {finding.rule}, reason: <why>{accepts}}}]"
    return "^" + re.escape(f"{finding} — {hint}") + "$"

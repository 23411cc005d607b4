"""The task definitions' template fragment (plain Python) and how `HubTaskDefinitions` includes it.

The fragment's logical IDs must be the ones aws-cdk-lib allocates (a changed ID replaces a task definition
on deploy), so `logical_id` is checked against aws-cdk-lib itself; the included resources must be real
`CfnTaskDefinition`s, which cdk-nag and aws-cdk-lib's validations inspect.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from hubcdk.task_template import (
    EXECUTION_ROLE_ARN,
    HOME_ACCESS_POINT_ID,
    HOME_FILE_SYSTEM_ID,
    TASK_ROLE_ARN,
    logical_id,
    service_template,
)
from hubspec import load_catalog
from hubspec.model import EfsSpec
from tests.catalogs import FIXTURE_SIZES

INPUTS = Path(__file__).parent / "inputs"
SIDECARS = load_catalog(INPUTS / "sidecars" / "services", FIXTURE_SIZES)
CHAT = SIDECARS.service("chat")
SMALL = SIDECARS.sizes["small"]

# Paths below a stack, each exercising one of aws-cdk-lib's rules: "Default" is dropped, "Resource" and a
# component the previous one ends with are left out of the readable part, only letters and digits are
# kept, the readable part is cut at 240 characters; a single component is the ID itself.
PATHS = [
    ["chat", "small", "Resource"],
    ["data-agent", "x.large", "Resource"],
    ["lab", "Default", "Resource"],
    ["Default", "only"],
    ["SecurityGroup"],
    ["Homes", "FileSystem"],
    ["waiide", "idewaiide", "waiide"],
    ["a" * 200, "b" * 100, "Resource"],
]


@pytest.mark.synth
def test_logical_ids_are_the_ones_aws_cdk_lib_allocates():
    from aws_cdk import App, CfnResource, Stack
    from constructs import Construct

    stack = Stack(App(), "ids")
    for path in PATHS:
        scope: Construct = stack
        for component in path[:-1]:
            scope = scope.node.try_find_child(component) or Construct(scope, component)
        resource = CfnResource(scope, path[-1], type="AWS::SNS::Topic")
        assert logical_id(path) == stack.resolve(resource.logical_id), path


def test_a_per_user_home_needs_the_file_system_only_and_a_shared_home_its_access_point_too():
    plain = service_template(CHAT, [SMALL], prefix="t", image=CHAT.image, log_group_name="/ecs/t")
    assert set(plain["Parameters"]) == {TASK_ROLE_ARN, EXECUTION_ROLE_ARN}
    for per_user, expected in ((True, {HOME_FILE_SYSTEM_ID}), (False, {HOME_FILE_SYSTEM_ID, HOME_ACCESS_POINT_ID})):
        spec = CHAT.__class__(**{**CHAT.__dict__, "efs": EfsSpec("/home/jovyan", per_user=per_user)})
        template = service_template(spec, [SMALL], prefix="t", image=spec.image, log_group_name="/ecs/t")
        assert set(template["Parameters"]) == {TASK_ROLE_ARN, EXECUTION_ROLE_ARN} | expected
        (resource,) = template["Resources"].values()
        (volume,) = resource["Properties"]["Volumes"]
        authorization = volume["EFSVolumeConfiguration"]["AuthorizationConfig"]
        assert ("AccessPointId" in authorization) is not per_user


def test_every_size_gets_its_family_and_the_path_metadata_names_the_included_resource():
    sizes = [SIDECARS.sizes[name] for name in ("small", "medium")]
    template = service_template(CHAT, sizes, prefix="t", image="other/chat:2", log_group_name="/ecs/t", path="s/chat/X")
    assert {lid: r["Properties"]["Family"] for lid, r in template["Resources"].items()} == {
        logical_id(["chat", "small", "Resource"]): "t-chat-small",
        logical_id(["chat", "medium", "Resource"]): "t-chat-medium",
    }
    for lid, resource in template["Resources"].items():
        assert resource["Metadata"] == {"aws:cdk:path": f"s/chat/X/{lid}"}
        server = resource["Properties"]["ContainerDefinitions"][0]
        assert server["Image"] == "other/chat:2"  # the override; sidecars keep theirs
        assert [c["Image"] for c in resource["Properties"]["ContainerDefinitions"][1:]] == [
            c.image for c in CHAT.sidecars
        ]
    no_path = service_template(CHAT, sizes, prefix="t", image=CHAT.image, log_group_name="/ecs/t")
    assert all("Metadata" not in r for r in no_path["Resources"].values())


@pytest.mark.synth
def test_the_included_task_definitions_are_cfn_task_definitions_and_no_file_is_left(tmp_path, monkeypatch):
    from aws_cdk import App, Stack
    from aws_cdk import aws_ecs as ecs
    from aws_cdk.assertions import Template

    from hubcdk import HubTaskDefinitions

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    stack = Stack(App(outdir=str(tmp_path / "out")), "include")
    service = HubTaskDefinitions(
        stack,
        "chat",
        services=[CHAT],
        sizes=SIDECARS.sizes,
        prefix="t",
        task_role_arn="arn:aws:iam::123456789012:role/t-task-role",
        execution_role_arn="arn:aws:iam::123456789012:role/t-execution-role",
        log_group_name="/ecs/t",
    )
    resource = service.task_definition("chat", "small")
    assert isinstance(resource, ecs.CfnTaskDefinition)
    assert stack.resolve(resource.family) == "t-chat-small"
    assert stack.resolve(resource.task_role_arn) == "arn:aws:iam::123456789012:role/t-task-role"
    assert list(scratch.iterdir()) == []  # the temporary template is removed once read
    assert service.families == {"chat": {"small": "t-chat-small"}}
    expected = service_template(CHAT, [SMALL], prefix="t", image=CHAT.image, log_group_name="/ecs/t")
    (lid,) = expected["Resources"]
    written = Template.from_stack(stack).to_json()["Resources"][lid]["Properties"]
    for key in ("TaskRoleArn", "ExecutionRoleArn"):
        assert written.pop(key) == f"arn:aws:iam::123456789012:role/t-{key[:-7].lower()}-role"
    assert written == {k: v for k, v in expected["Resources"][lid]["Properties"].items() if not k.endswith("RoleArn")}


@pytest.mark.synth
def test_an_empty_service_list_is_refused_with_the_construct_named():
    from aws_cdk import App, Stack

    from hubcdk import HubTaskDefinitions

    with pytest.raises(ValueError, match="HubTaskDefinitions 'none' needs at least one service"):
        HubTaskDefinitions(
            Stack(App(), "empty"),
            "none",
            services=[],
            sizes=SIDECARS.sizes,
            prefix="t",
            task_role_arn="arn:aws:iam::123456789012:role/t-task-role",
            execution_role_arn="arn:aws:iam::123456789012:role/t-execution-role",
            log_group_name="/ecs/t",
        )

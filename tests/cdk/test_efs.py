"""EFS homes: volumes, mount points and the task role's mount rights (a bare Stack per case), and the
bundled app's lab home (derived from services/lab.yaml)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from hubspec.model import HOME_VOLUME, EfsSpec, HealthCheckSpec, ServiceSpec, SizeSpec
from tests.catalogs import BUNDLED_SERVICES, BUNDLED_SIZES
from tests.cdk.conftest import nag_report

ROOT = Path(__file__).resolve().parents[2]
FS_ID = "fs-0123456789abcdef0"
AP_ID = "fsap-0123456789abcdef0"
MOUNT = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
SIZES = [SizeSpec("small", 512, 1024)]


def service(name: str, efs: EfsSpec | None) -> ServiceSpec:
    return ServiceSpec(
        name=name,
        image="example/lab:1",
        health_check=HealthCheckSpec(interval=30, timeout=20, retries=8, start_period=60),
        sizes=("small",),
        default_size="small",
        efs=efs,
    )


PER_USER = service("lab", EfsSpec("/home/jovyan", per_user=True))
SHARED = service("team", EfsSpec("/srv/shared", per_user=False))
PLAIN = service("chat", None)


def build(tmp_path: Path, services: list[ServiceSpec], **home: str) -> dict:
    """The constructs in a bare Stack, as the stack wires them; the template as JSON."""
    from aws_cdk import App, Stack
    from aws_cdk.assertions import Template

    from hubcdk import HubHomeFileSystem, HubTaskDefinitions, HubTaskRoles, environment_log_group, log_group_name

    stack = Stack(App(outdir=str(tmp_path)), "efs")
    roles = HubTaskRoles(stack, "Roles", prefix="t")
    logs = environment_log_group(stack, "Logs", prefix="t", retention=1)
    roles.grant_task_start(log_group=logs, images=[spec.image for spec in services])
    homes = HubHomeFileSystem(stack, "Homes", services=services, task_role=roles.task_role, prefix="t", **home)
    HubTaskDefinitions(
        stack,
        "TaskDefinitions",
        services=services,
        sizes={size.name: size for size in SIZES},
        prefix="t",
        task_role_arn=roles.task_role.role_arn,
        execution_role_arn=roles.execution_role.role_arn,
        log_group_name=log_group_name("t"),
        home=homes,
    )
    return Template.from_stack(stack).to_json()


def task_definition(template: dict, family: str) -> dict:
    (props,) = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::ECS::TaskDefinition" and r["Properties"]["Family"] == family
    ]
    return props


def mount_statements(template: dict) -> list[dict]:
    return [
        s
        for r in template["Resources"].values()
        if r["Type"] == "AWS::IAM::Policy"
        for s in r["Properties"]["PolicyDocument"]["Statement"]
        if any(
            a.startswith("elasticfilesystem:") for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
        )
    ]


def joined(value: object) -> str:
    """An Fn::Join of literal parts and Refs, as text (`${AWS::Region}`), for exact comparisons."""
    if isinstance(value, dict) and "Fn::Join" in value:
        sep, parts = value["Fn::Join"]
        return sep.join(joined(p) for p in parts)
    if isinstance(value, dict) and "Ref" in value:
        return "${" + value["Ref"] + "}"
    return str(value)


def fs_arn(fs_id: str) -> str:
    return f"arn:${{AWS::Partition}}:elasticfilesystem:${{AWS::Region}}:${{AWS::AccountId}}:file-system/{fs_id}"


def ap_arn(ap_id: str) -> str:
    return f"arn:${{AWS::Partition}}:elasticfilesystem:${{AWS::Region}}:${{AWS::AccountId}}:access-point/{ap_id}"


def test_per_user_home_mounts_the_context_file_system_with_no_access_point(tmp_path):
    """The synthesized definition names no access point: run as it is, the task role's condition (an access
    point is required) lets it mount nothing. The spawner's per-user copy adds the user's access point."""
    template = build(tmp_path, [PER_USER, PLAIN], file_system_id=FS_ID)
    lab = task_definition(template, "t-lab-small")
    assert lab["Volumes"] == [
        {
            "Name": HOME_VOLUME,
            "EFSVolumeConfiguration": {
                "FilesystemId": FS_ID,
                "TransitEncryption": "ENABLED",
                "AuthorizationConfig": {"IAM": "ENABLED"},
            },
        }
    ]
    assert lab["ContainerDefinitions"][0]["MountPoints"] == [
        {"ContainerPath": "/home/jovyan", "SourceVolume": HOME_VOLUME, "ReadOnly": False}
    ]
    chat = task_definition(template, "t-chat-small")
    assert "Volumes" not in chat or chat["Volumes"] == []
    assert "MountPoints" not in chat["ContainerDefinitions"][0] or not chat["ContainerDefinitions"][0]["MountPoints"]
    types = {r["Type"] for r in template["Resources"].values()}
    assert not {"AWS::EFS::FileSystem", "AWS::EFS::AccessPoint"} & types  # context decides: nothing made


def test_per_user_mount_right_is_this_file_system_only_and_only_through_an_access_point(tmp_path):
    (statement,) = mount_statements(build(tmp_path, [PER_USER], file_system_id=FS_ID))
    assert statement["Effect"] == "Allow"
    assert sorted(statement["Action"]) == MOUNT
    assert joined(statement["Resource"]) == fs_arn(FS_ID)
    condition = statement["Condition"]
    assert {k: joined(v) for k, v in condition["ArnLike"].items()} == {
        "elasticfilesystem:AccessPointArn": ap_arn("fsap-*")
    }
    assert condition["Bool"] == {"elasticfilesystem:AccessedViaMountTarget": "true"}


def test_shared_home_names_the_context_access_point_and_only_it_may_be_mounted(tmp_path):
    template = build(tmp_path, [SHARED], file_system_id=FS_ID, shared_access_point_id=AP_ID)
    (volume,) = task_definition(template, "t-team-small")["Volumes"]
    assert volume["EFSVolumeConfiguration"]["AuthorizationConfig"] == {"IAM": "ENABLED", "AccessPointId": AP_ID}
    assert volume["EFSVolumeConfiguration"]["TransitEncryption"] == "ENABLED"
    (statement,) = mount_statements(template)
    assert joined(statement["Resource"]) == fs_arn(FS_ID)
    assert {k: joined(v) for k, v in statement["Condition"]["StringEquals"].items()} == {
        "elasticfilesystem:AccessPointArn": ap_arn(AP_ID)
    }


def test_without_context_the_stack_makes_an_encrypted_retained_file_system_and_shared_access_point(tmp_path):
    template = build(tmp_path, [PER_USER, SHARED])
    (fs_id, fs), (ap_id, ap) = (
        next((k, r) for k, r in template["Resources"].items() if r["Type"] == t)
        for t in ("AWS::EFS::FileSystem", "AWS::EFS::AccessPoint")
    )
    assert fs["Properties"]["Encrypted"] is True
    assert fs["DeletionPolicy"] == fs["UpdateReplacePolicy"] == "Retain"
    (deny,) = fs["Properties"]["FileSystemPolicy"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert ap["Properties"]["FileSystemId"] == {"Ref": fs_id}
    assert ap["Properties"]["PosixUser"] == {"Uid": "1000", "Gid": "100"}
    assert ap["Properties"]["RootDirectory"]["Path"] == "/shared"
    team = task_definition(template, "t-team-small")["Volumes"][0]["EFSVolumeConfiguration"]
    assert team["FilesystemId"] == {"Ref": fs_id}
    assert team["AuthorizationConfig"]["AccessPointId"] == {"Ref": ap_id}
    statements = mount_statements(template)
    assert [s["Sid"] for s in statements] == ["MountSharedHome", "MountPerUserHomes"]
    assert all(s["Resource"] == {"Fn::GetAtt": [fs_id, "Arn"]} for s in statements)


def test_no_statement_lets_a_task_mount_the_file_system_root(tmp_path):
    """Every mount right carries an access point condition: no task sees the whole file system."""
    for case in ({"file_system_id": FS_ID}, {}):
        statements = mount_statements(build(tmp_path / str(len(case)), [PER_USER, SHARED], **case))
        assert statements
        for s in statements:
            conditions = {key for op in s["Condition"].values() for key in op}
            assert "elasticfilesystem:AccessPointArn" in conditions
            assert "*" not in json.dumps(s["Resource"])


@pytest.mark.catalog
def test_bundled_app_mounts_each_efs_service_home_and_outputs_the_file_system(hub):
    from hubspec import load_catalog

    catalog = load_catalog(BUNDLED_SERVICES, BUNDLED_SIZES)
    homes = {s.name: s.efs for s in catalog.services if s.efs is not None}
    assert homes, "the bundled catalog declares an EFS home (lab)"
    for family, props in hub.task_definitions().items():
        spec = next(s for s in catalog.services if family.endswith(tuple(f"-{s.name}-{z}" for z in s.sizes)))
        mounts = props["ContainerDefinitions"][0].get("MountPoints") or []
        if spec.efs is None:
            assert not mounts
            continue
        assert mounts == [{"ContainerPath": spec.efs.mount_path, "SourceVolume": HOME_VOLUME, "ReadOnly": False}]
        (volume,) = props["Volumes"]
        assert volume["EFSVolumeConfiguration"]["TransitEncryption"] == "ENABLED"
        assert ("AccessPointId" in volume["EFSVolumeConfiguration"]["AuthorizationConfig"]) is not spec.efs.per_user
    outputs = hub.shared.to_json()["Outputs"]
    assert "HomeFileSystemId" in outputs
    assert ("HomeSharedAccessPointId" in outputs) is any(not h.per_user for h in homes.values())


# Mount targets (the file system the stack makes): one per subnet, NFS only from the task security group.
VPC = "vpc-0123456789abcdef0"
SUBNETS = ["subnet-0123456789abcdef0", "subnet-89abcdef"]
TASK_SG = "sg-0fedcba9876543210"
MOUNT_TARGET = "AWS::EFS::MountTarget"
SG = "AWS::EC2::SecurityGroup"


def home_in_bare_stack(tmp_path: Path, **kwargs):
    """HubHomeFileSystem (made here, or from context with `file_system_id`) in a bare Stack: (stack, home)."""
    from aws_cdk import App, Stack

    from hubcdk import HubHomeFileSystem, HubTaskRoles

    stack = Stack(App(outdir=str(tmp_path)), "efs")
    roles = HubTaskRoles(stack, "Roles", prefix="t")
    return stack, HubHomeFileSystem(
        stack, "Homes", services=[PER_USER], task_role=roles.task_role, prefix="t", **kwargs
    )


def template_of(stack):
    from aws_cdk.assertions import Template

    return Template.from_stack(stack)


def warnings_of(stack) -> list:
    from aws_cdk.assertions import Annotations, Match

    return Annotations.from_stack(stack).find_warning("*", Match.any_value())


def test_mount_targets_one_per_subnet_admit_nfs_only_from_the_task_group(tmp_path):
    stack, home = home_in_bare_stack(tmp_path)
    targets = home.add_mount_targets(prefix="t", vpc_id=VPC, task_security_group_id=TASK_SG, subnet_ids=SUBNETS)
    assert targets is not None
    template = template_of(stack)
    (fs_id,) = template.find_resources("AWS::EFS::FileSystem")
    (sg_id, group), *others = template.find_resources(SG).items()
    assert not others
    template.resource_count_is("AWS::EC2::SecurityGroupIngress", 0)  # no rule outside the group's own list
    template.resource_count_is("AWS::EC2::SecurityGroupEgress", 0)
    assert group["Properties"]["VpcId"] == VPC
    assert group["Properties"]["SecurityGroupIngress"] == [
        {
            "IpProtocol": "tcp",
            "FromPort": 2049,
            "ToPort": 2049,
            "SourceSecurityGroupId": TASK_SG,
            "Description": "NFS from the hub tasks",
        }
    ]
    # aws-cdk-lib's "no egress" placeholder: a mount target never opens a connection
    assert group["Properties"]["SecurityGroupEgress"] == [
        {
            "IpProtocol": "icmp",
            "FromPort": 252,
            "ToPort": 86,
            "CidrIp": "255.255.255.255/32",
            "Description": "Disallow all traffic",
        }
    ]
    mount_targets = template.find_resources(MOUNT_TARGET)
    assert sorted(r["Properties"]["SubnetId"] for r in mount_targets.values()) == sorted(SUBNETS)
    for r in mount_targets.values():
        assert r["Properties"] == {
            "FileSystemId": {"Ref": fs_id},
            "SubnetId": r["Properties"]["SubnetId"],
            "SecurityGroups": [{"Fn::GetAtt": [sg_id, "GroupId"]}],
        }
    assert warnings_of(stack) == []


def test_mount_target_logical_ids_do_not_depend_on_the_subnets_order(tmp_path):
    ids = []
    for order in (SUBNETS, SUBNETS[::-1]):
        stack, home = home_in_bare_stack(tmp_path / str(len(ids)))
        home.add_mount_targets(prefix="t", vpc_id=VPC, task_security_group_id=TASK_SG, subnet_ids=order)
        ids.append({r["Properties"]["SubnetId"]: k for k, r in template_of(stack).find_resources(MOUNT_TARGET).items()})
    assert ids[0] == ids[1]


def test_created_file_system_without_subnets_warns_that_no_task_can_mount_it(tmp_path):
    cases = [
        {"vpc_id": VPC, "task_security_group_id": TASK_SG, "subnet_ids": ()},
        {"vpc_id": None, "task_security_group_id": None, "subnet_ids": SUBNETS},
    ]
    for n, case in enumerate(cases):
        stack, home = home_in_bare_stack(tmp_path / str(n))
        assert home.add_mount_targets(prefix="t", **case) is None
        template = template_of(stack)
        template.resource_count_is(MOUNT_TARGET, 0)
        template.resource_count_is(SG, 0)
        (warning,) = warnings_of(stack)
        assert warning.id == "/efs/Homes"
        assert "no task can mount a home until they exist: set context efs_subnet_ids" in str(warning.entry.data)


def test_file_system_from_context_gets_no_mount_targets_and_no_warning(tmp_path):
    """The user's file system is assumed to have its mount targets."""
    stack, home = home_in_bare_stack(tmp_path, file_system_id=FS_ID)
    for subnets in (SUBNETS, ()):
        assert (
            home.add_mount_targets(prefix="t", vpc_id=VPC, task_security_group_id=TASK_SG, subnet_ids=subnets) is None
        )
    template_of(stack).resource_count_is(MOUNT_TARGET, 0)
    assert warnings_of(stack) == []


@pytest.mark.catalog
def test_bundled_app_without_subnets_warns_on_the_homes_file_system(hub):
    """The session synth (no network context) makes the file system and says plainly no task can mount it."""
    from aws_cdk.assertions import Annotations, Match

    hub.shared.resource_count_is("AWS::EFS::FileSystem", 1)
    hub.shared.resource_count_is(MOUNT_TARGET, 0)
    (warning,) = Annotations.from_stack(hub.stacks.shared).find_warning(
        "*", Match.string_like_regexp("no task can mount a home")
    )
    assert warning.id == f"/{hub.stacks.shared.stack_name}/Homes"


@pytest.mark.catalog
def test_bundled_app_with_subnets_mounts_through_the_task_security_group(tmp_path, cdk_tools):
    """Context vpc_id + hub_security_group_id + efs_subnet_ids: a mount target per subnet, whose group admits
    only TCP 2049 and only from the task security group; the task group's egress (EC2's default, all) reaches
    them; cdk-nag leaves no open finding, cfn-lint none at all."""
    from aws_cdk.assertions import Annotations, Match

    subnets = json.dumps(SUBNETS)
    hub = cdk_tools.synthesize(tmp_path, vpc_id=VPC, hub_security_group_id=TASK_SG, efs_subnet_ids=subnets)
    shared = hub.shared.to_json()["Resources"]
    groups = {k: r for k, r in shared.items() if r["Type"] == SG}
    (task_group,) = [k for k, r in groups.items() if r["Properties"]["SecurityGroupIngress"][0]["FromPort"] != 2049]
    (mount_group,) = set(groups) - {task_group}
    assert [
        {k: v for k, v in rule.items() if k != "Description"}
        for rule in groups[mount_group]["Properties"]["SecurityGroupIngress"]
    ] == [
        {
            "IpProtocol": "tcp",
            "FromPort": 2049,
            "ToPort": 2049,
            "SourceSecurityGroupId": {"Fn::GetAtt": [task_group, "GroupId"]},
        }
    ]
    assert "SecurityGroupEgress" not in groups[task_group]["Properties"]  # all egress, so NFS to the mount targets
    targets = [r["Properties"] for r in shared.values() if r["Type"] == MOUNT_TARGET]
    (fs_id,) = [k for k, r in shared.items() if r["Type"] == "AWS::EFS::FileSystem"]
    assert sorted(t["SubnetId"] for t in targets) == sorted(SUBNETS)
    assert all(t["FileSystemId"] == {"Ref": fs_id} for t in targets)
    assert all(t["SecurityGroups"] == [{"Fn::GetAtt": [mount_group, "GroupId"]}] for t in targets)
    assert (
        Annotations.from_stack(hub.stacks.shared).find_warning("*", Match.string_like_regexp("no task can mount")) == []
    )
    # cdk-nag's own report only: the catalog's lint warnings ride along as "Construct Annotations" (lint owns them)
    (nag,) = [r for r in nag_report(tmp_path) if r["pluginName"] == "AwsSolutions"]
    assert nag["violations"] == [], nag["violations"]
    shared_file = hub.template_files[hub.stacks.shared.stack_name]
    lint = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "cfn-lint"), "--format", "parseable", str(shared_file)],
        env=cdk_tools.tool_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr  # no error, warning or note on the mount targets


def hub_statements(services: list[ServiceSpec]) -> tuple[list[dict], dict[str, str]]:
    """HubHomeFileSystem's statements for the hub's policy (context file system), rendered, and its wildcards."""
    from aws_cdk import App, Stack
    from aws_cdk import aws_iam as iam

    from hubcdk import HubHomeFileSystem, HubTaskRoles

    stack = Stack(App(), "efs")
    roles = HubTaskRoles(stack, "Roles", prefix="t")
    homes = HubHomeFileSystem(
        stack, "Homes", services=services, task_role=roles.task_role, prefix="t", file_system_id=FS_ID
    )
    statements = homes.hub_statements(prefix="t")
    rendered = [stack.resolve(iam.PolicyDocument(statements=[s]).to_json())["Statement"][0] for s in statements]
    return rendered, homes.hub_wildcards(prefix="t")


def test_hub_statements_for_per_user_homes_are_scoped_to_this_file_system_and_users_families():
    statements, wildcards = hub_statements([PER_USER, PLAIN])
    by_sid = {s["Sid"]: s for s in statements}
    # listing and creating access points: this file system only; creating only with the hub's tag
    for sid in ("ListHomeAccessPointsOfTheFileSystem", "CreateHubTaggedAccessPointsOnTheFileSystem"):
        assert joined(by_sid[sid]["Resource"]) == fs_arn(FS_ID)
    assert by_sid["CreateHubTaggedAccessPointsOnTheFileSystem"]["Condition"] == {
        "Null": {"aws:RequestTag/jupyterhub:hub-id": "false"}
    }
    assert by_sid["TagAccessPointsOnlyWhileCreatingThem"]["Condition"] == {
        "StringEquals": {"elasticfilesystem:CreateAction": "CreateAccessPoint"}
    }
    assert by_sid["DeleteHubTaggedAccessPoints"]["Condition"] == {
        "Null": {"aws:ResourceTag/jupyterhub:hub-id": "false"}
    }
    # registering: users' own families only, never a synthesized family (CloudFormation owns those)
    for sid in ("RegisterUsersOwnFamilies", "TagUsersFamiliesOnlyWhileRegistering"):
        assert joined(by_sid[sid]["Resource"]).endswith(":task-definition/t-*-u????????????????:*")
    assert by_sid["TagUsersFamiliesOnlyWhileRegistering"]["Condition"] == {
        "StringEquals": {"ecs:CreateAction": "RegisterTaskDefinition"}
    }
    stars = [s["Sid"] for s in statements if s["Resource"] == "*"]
    assert stars == ["ListAndDeregisterTaskDefinitions"]
    assert set(by_sid["ListAndDeregisterTaskDefinitions"]["Action"]) == {
        "ecs:ListTaskDefinitions",
        "ecs:ListTaskDefinitionFamilies",
        "ecs:DeregisterTaskDefinition",
    }
    tokens = "arn:<AWS::Partition>:{}:<AWS::Region>:<AWS::AccountId>"
    assert set(wildcards) == {
        tokens.format("elasticfilesystem") + ":access-point/*",
        tokens.format("ecs") + ":task-definition/t-*-u????????????????:*",
    }


def test_shared_homes_add_nothing_to_the_hubs_policy():
    assert hub_statements([SHARED, PLAIN]) == ([], {})

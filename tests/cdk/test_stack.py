"""The synthesized stack of the bundled services, checked with aws_cdk.assertions."""

from __future__ import annotations

import json
import re
import shlex

import pytest

from hubspec import render_health_check
from hubspec.images import ecr_repository
from hubspec.sharding import shard_of
from tests.cdk.expect import execution_role_statements

pytestmark = [pytest.mark.synth, pytest.mark.catalog]

# Catalog-independent: the stack's own resources, whose logical IDs come from fixed construct paths.
SHARED_LOGICAL_IDS = {
    "Logs6819BB44",
    "RolesTaskRoleF8D8DD59",
    "RolesExecutionRoleAB9762F7",
    "RolesExecutionRoleDefaultPolicyED4176E7",
    "HubPolicy062A2AD0",
}
# With an EFS home in the catalog (bundled lab) and no efs_file_system_id: the file system, and the task
# role's mount rights (tests/cdk/test_efs.py checks them).
HOME_LOGICAL_IDS = {"HomesFileSystem72AF77C5", "RolesTaskRoleDefaultPolicy160E6CAA"}


def shared_ids(hub) -> set[str]:
    homes = any(s.efs for s in hub.inputs.catalog.services)
    return SHARED_LOGICAL_IDS | (HOME_LOGICAL_IDS if homes else set())


def families(hub) -> dict[str, tuple[str, str]]:
    """Family -> (service, size), derived from the bundled catalog: <prefix>-<service>-<size>."""
    return {
        f"{hub.settings.prefix}-{spec.name}-{size}": (spec.name, size)
        for spec in hub.inputs.catalog.services
        for size in spec.sizes
    }


def probe_url(spec) -> str:
    """Where the service file says the probe goes: 127.0.0.1, the probe port, the server prefix or not."""
    hc = spec.health_check
    prefix = "" if hc.use_container_root else "${JUPYTERHUB_SERVICE_PREFIX%/}"
    return f"http://127.0.0.1:{hc.health_check_port or spec.port}{prefix}{hc.endpoint}"


def container(properties: dict) -> dict:
    """The server's container: the first one (sidecars follow; tests/cdk/test_containers.py covers them)."""
    return properties["ContainerDefinitions"][0]


def test_one_task_definition_per_service_and_size(hub):
    expected = families(hub)
    kinds = [r["Type"] for r in hub.resources.values()]
    assert kinds.count("AWS::ECS::TaskDefinition") == len(expected)
    assert set(hub.task_definitions()) == set(expected)


def test_each_service_is_in_the_stack_of_its_hash_bucket(hub):
    """Every size of a service in one stack `<prefix>-task-definitions-<NN>`, NN = shard_of(name); one stack
    per non-empty bucket, each depending on the shared stack; no task definition in the shared stack."""
    prefix = hub.settings.prefix
    expected: dict[str, set[str]] = {}
    for family, (service, _) in families(hub).items():
        expected.setdefault(f"{prefix}-task-definitions-{shard_of(service):02d}", set()).add(family)
    placed = {
        name: {r["Properties"]["Family"] for r in t.to_json()["Resources"].values()}
        for name, t in hub.templates.items()
        if name != f"{prefix}-shared"
    }
    assert placed == expected
    hub.shared.resource_count_is("AWS::ECS::TaskDefinition", 0)
    for stack in hub.stacks.task_definitions.values():
        assert [d.stack_name for d in stack.dependencies] == [f"{prefix}-shared"]


def test_no_exports_and_no_outputs_per_family(hub):
    """The stacks share resources by fixed names: an export would lock the shared stack."""
    for name, template in hub.templates.items():
        body = template.to_json()
        assert "Fn::ImportValue" not in json.dumps(body), name
        assert all("Export" not in o for o in body.get("Outputs", {}).values()), name
        if name != hub.stacks.shared.stack_name:
            assert "Outputs" not in body, name


def test_task_definition_shape(hub):
    sizes = hub.inputs.catalog.sizes
    for family, (service, size) in families(hub).items():
        props = hub.task_definitions()[family]
        assert (props["Cpu"], props["Memory"]) == (str(sizes[size].cpu), str(sizes[size].memory)), family
        assert props["RequiresCompatibilities"] == ["FARGATE"] and props["NetworkMode"] == "awsvpc"
        box = container(props)
        spec = hub.inputs.catalog.service(service)
        assert box["Name"] == service and box["Essential"] is True
        assert [c["Name"] for c in props["ContainerDefinitions"]] == [c.name for c in spec.containers]
        assert box["Image"] == spec.image
        # Only the service port: the probe reaches health_check_port on 127.0.0.1 inside the task.
        assert box["PortMappings"] == [{"ContainerPort": spec.port, "Protocol": "tcp"}]


def test_health_check_is_the_rendered_one_unchanged(hub):
    for family, (service, _) in families(hub).items():
        spec = hub.inputs.catalog.service(service)
        rendered = render_health_check(spec)
        hc = spec.health_check
        check = container(hub.task_definitions()[family])["HealthCheck"]
        assert check == {
            "Command": list(rendered.command),
            "Interval": hc.interval,
            "Timeout": hc.timeout,
            "Retries": hc.retries,
            "StartPeriod": hc.start_period,
        }


def test_probe_url_and_curl_fails_on_http_errors(hub):
    curl_services = {s.name for s in hub.inputs.catalog.services if s.health_check.probe == "curl"}
    for family, (service, _) in families(hub).items():
        if service not in curl_services:
            continue
        check = container(hub.task_definitions()[family])["HealthCheck"]
        command = check["Command"]
        assert command[0] == "CMD-SHELL" and len(command) == 2
        words = shlex.split(command[1])
        assert words[0] == "curl"
        curl_args = words[1 : words.index("||")]
        assert probe_url(hub.inputs.catalog.service(service)) in curl_args, command
        assert any(a == "--fail" or re.fullmatch(r"-[a-zA-Z]*f[a-zA-Z]*", a) for a in curl_args), command
        max_time = int(curl_args[curl_args.index("--max-time") + 1])
        assert max_time < check["Timeout"]


def role_arn(name: str) -> dict:
    return {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::", {"Ref": "AWS::AccountId"}, f":role/{name}"]]}


def test_all_task_definitions_share_the_two_roles_by_name(hub):
    prefix = hub.settings.prefix
    hub.shared.resource_count_is("AWS::IAM::Role", 2)
    names = {r["Properties"]["RoleName"] for r in hub.shared.find_resources("AWS::IAM::Role").values()}
    assert names == {f"{prefix}-task-role", f"{prefix}-execution-role"}
    task_role, execution_role = role_arn(f"{prefix}-task-role"), role_arn(f"{prefix}-execution-role")
    for family, props in hub.task_definitions().items():
        assert (props["TaskRoleArn"], props["ExecutionRoleArn"]) == (task_role, execution_role), family
    kinds = {
        r["Type"]
        for name, t in hub.templates.items()
        for r in t.to_json()["Resources"].values()
        if name != hub.stacks.shared.stack_name
    }
    assert kinds == {"AWS::ECS::TaskDefinition"}  # no role, no policy in a task-definition stack


def test_execution_role_may_only_write_to_the_log_group_and_pull_private_images(hub):
    repositories = [r.arn for spec in hub.inputs.catalog.services if (r := ecr_repository(spec.image))]
    execution = [
        p
        for p in hub.shared.find_resources("AWS::IAM::Policy").values()
        if p["Properties"]["Roles"] == [{"Ref": "RolesExecutionRoleAB9762F7"}]
    ]
    assert len(execution) == 1
    hub.shared.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "Roles": [{"Ref": "RolesExecutionRoleAB9762F7"}],
            "PolicyDocument": {
                "Statement": execution_role_statements("Logs6819BB44", repositories),
                "Version": "2012-10-17",
            },
        },
    )
    for role in hub.shared.find_resources("AWS::IAM::Role").values():
        assert "Policies" not in role["Properties"] and "ManagedPolicyArns" not in role["Properties"]


def test_logical_ids_and_resource_count_are_stable(hub):
    """The shared resources keep fixed IDs; each task definition's ID starts with its service and size
    (the full ID of each is in its snapshot), so nothing else is in the templates."""
    assert set(hub.shared.to_json()["Resources"]) == shared_ids(hub)
    task_definition_ids = set(hub.resources) - shared_ids(hub)
    assert len(task_definition_ids) == len(families(hub))
    for service, size in families(hub).values():
        stem = re.sub(r"[^A-Za-z0-9]", "", service + size)
        assert [lid for lid in task_definition_ids if re.fullmatch(stem + "[0-9A-F]{8}", lid)], (service, size)
    assert shared_ids(hub) <= set(hub.resources)


def test_logs_go_to_one_group_per_environment_with_retention(hub):
    hub.shared.resource_count_is("AWS::Logs::LogGroup", 1)
    hub.shared.has_resource(
        "AWS::Logs::LogGroup",
        {
            "Properties": {
                "LogGroupName": f"/ecs/{hub.settings.prefix}",
                "RetentionInDays": hub.settings.log_retention_days,
            },
            "DeletionPolicy": "Retain",
        },
    )
    assert hub.settings.log_retention_days == 30  # cdk.json's default
    for family, (service, _) in families(hub).items():
        assert container(hub.task_definitions()[family])["LogConfiguration"] == {
            "LogDriver": "awslogs",
            "Options": {
                "awslogs-group": f"/ecs/{hub.settings.prefix}",
                "awslogs-stream-prefix": service,
                "awslogs-region": {"Ref": "AWS::Region"},
            },
        }


def test_stacks_are_environment_agnostic_and_have_no_version_metadata(hub):
    for stack in [hub.stacks.shared, *hub.stacks.task_definitions.values()]:
        assert stack.environment == "aws://unknown-account/unknown-region"
    for template_file in hub.template_files.values():
        text = template_file.read_text()
        assert not re.search(r"\b\d{12}\b", text)  # no account id baked in
        assert "CDKMetadata" not in text and "AWS::CDK::Metadata" not in text


def test_each_task_definition_names_its_real_construct_path(hub):
    """`cdk diff` and the console show a resource by its `aws:cdk:path`: for an included task definition
    that is `<stack>/TaskDefinitions/<logical id>`, the construct aws-cdk-lib actually made."""
    seen = 0
    for stack_name, template in hub.templates.items():
        for logical_id, resource in template.find_resources("AWS::ECS::TaskDefinition").items():
            assert resource["Metadata"]["aws:cdk:path"] == f"{stack_name}/TaskDefinitions/{logical_id}"
            seen += 1
    assert seen == len(families(hub))

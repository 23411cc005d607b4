"""The synthesized stack of the bundled services, checked with aws_cdk.assertions."""

from __future__ import annotations

import re
import shlex

import pytest

from hubspec import render_health_check
from hubspec.images import ecr_repository
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
    (only,) = properties["ContainerDefinitions"]
    return only


def test_one_task_definition_per_service_and_size(hub):
    expected = families(hub)
    hub.template.resource_count_is("AWS::ECS::TaskDefinition", len(expected))
    assert set(hub.task_definitions()) == set(expected)


def test_task_definition_shape(hub):
    sizes = hub.inputs.catalog.sizes
    for family, (service, size) in families(hub).items():
        props = hub.task_definitions()[family]
        assert (props["Cpu"], props["Memory"]) == (str(sizes[size].cpu), str(sizes[size].memory)), family
        assert props["RequiresCompatibilities"] == ["FARGATE"] and props["NetworkMode"] == "awsvpc"
        box = container(props)
        spec = hub.inputs.catalog.service(service)
        assert box["Name"] == service and box["Essential"] is True
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


def test_all_task_definitions_share_the_two_roles(hub):
    hub.template.resource_count_is("AWS::IAM::Role", 2)
    task_role = {"Fn::GetAtt": ["RolesTaskRoleF8D8DD59", "Arn"]}
    execution_role = {"Fn::GetAtt": ["RolesExecutionRoleAB9762F7", "Arn"]}
    for family, props in hub.task_definitions().items():
        assert (props["TaskRoleArn"], props["ExecutionRoleArn"]) == (task_role, execution_role), family


def test_execution_role_may_only_write_to_the_log_group_and_pull_private_images(hub):
    repositories = [r.arn for spec in hub.inputs.catalog.services if (r := ecr_repository(spec.image))]
    hub.template.resource_count_is("AWS::IAM::Policy", 1)
    hub.template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "Roles": [{"Ref": "RolesExecutionRoleAB9762F7"}],
            "PolicyDocument": {
                "Statement": execution_role_statements("Logs6819BB44", repositories),
                "Version": "2012-10-17",
            },
        },
    )
    for role in hub.template.find_resources("AWS::IAM::Role").values():
        assert "Policies" not in role["Properties"] and "ManagedPolicyArns" not in role["Properties"]


def test_logical_ids_and_resource_count_are_stable(hub):
    """The shared resources keep fixed IDs; each task definition's ID starts with its service and size
    (the full ID of each is in its snapshot), so nothing else is in the template."""
    task_definition_ids = set(hub.resources) - SHARED_LOGICAL_IDS
    assert len(task_definition_ids) == len(families(hub))
    for service, size in families(hub).values():
        stem = re.sub(r"[^A-Za-z0-9]", "", service + size)
        assert [lid for lid in task_definition_ids if re.fullmatch(stem + "[0-9A-F]{8}", lid)], (service, size)
    assert SHARED_LOGICAL_IDS <= set(hub.resources)


def test_every_family_is_a_stack_output(hub):
    outputs = {key: value["Value"] for key, value in hub.template.to_json()["Outputs"].items()}

    def camel(name: str) -> str:
        return "".join(word[:1].upper() + word[1:] for word in re.split(r"[-_]", name))

    expected = {f"Family{camel(service)}{camel(size)}": family for family, (service, size) in families(hub).items()}
    assert {k: v for k, v in outputs.items() if k != "HubPolicyArn"} == expected  # the policy: test_hub_policy.py


def test_logs_go_to_one_group_per_environment_with_retention(hub):
    hub.template.resource_count_is("AWS::Logs::LogGroup", 1)
    hub.template.has_resource(
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
                "awslogs-group": {"Ref": "Logs6819BB44"},
                "awslogs-stream-prefix": service,
                "awslogs-region": {"Ref": "AWS::Region"},
            },
        }


def test_stack_is_environment_agnostic_and_has_no_version_metadata(hub):
    assert hub.stack.environment == "aws://unknown-account/unknown-region"
    text = hub.template_file.read_text()
    assert not re.search(r"\b\d{12}\b", text)  # no account id baked in
    assert "CDKMetadata" not in text and "AWS::CDK::Metadata" not in text

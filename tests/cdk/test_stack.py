"""The synthesized stack of the bundled services, checked with aws_cdk.assertions."""

from __future__ import annotations

import re
import shlex

import pytest

from hubspec import render_health_check

pytestmark = pytest.mark.synth

PREFIX = "calliope-hub-dev"
SIZES = {
    "chat": ["small", "medium"],
    "waiide": ["small", "medium", "large"],
    "lab": ["small", "medium", "large", "xlarge"],
}
FAMILIES = {f"{PREFIX}-{service}-{size}": (service, size) for service, sizes in SIZES.items() for size in sizes}
PORTS = {"chat": 8888, "waiide": 8070, "lab": 8888}
PROBE_URLS = {
    "chat": "http://127.0.0.1:3000/health",
    "waiide": "http://127.0.0.1:8071/health",
    "lab": "http://127.0.0.1:8888${JUPYTERHUB_SERVICE_PREFIX%/}/health",
}
# Logical IDs come from construct paths (service and size names), so they are fixed strings.
LOGICAL_IDS = {
    "Logs6819BB44",
    "RolesTaskRoleF8D8DD59",
    "RolesExecutionRoleAB9762F7",
    "RolesExecutionRoleDefaultPolicyED4176E7",
    "chatsmallA415B227",
    "chatmedium496D3A74",
    "labsmallD9ED1764",
    "labmedium85394F8F",
    "lablarge6BEE4DB1",
    "labxlarge041178C0",
    "waiidesmall0D14CF5B",
    "waiidemedium6D8C688F",
    "waiidelarge1D393FB9",
}


def container(properties: dict) -> dict:
    (only,) = properties["ContainerDefinitions"]
    return only


def test_one_task_definition_per_service_and_size(hub):
    hub.template.resource_count_is("AWS::ECS::TaskDefinition", 9)
    assert set(hub.task_definitions()) == set(FAMILIES)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_task_definition_shape(hub, family):
    service, size = FAMILIES[family]
    props = hub.task_definitions()[family]
    sizes = hub.inputs.catalog.sizes
    assert (props["Cpu"], props["Memory"]) == (str(sizes[size].cpu), str(sizes[size].memory))
    assert props["RequiresCompatibilities"] == ["FARGATE"] and props["NetworkMode"] == "awsvpc"
    box = container(props)
    assert box["Name"] == service and box["Essential"] is True
    assert box["Image"] == hub.inputs.catalog.service(service).image
    # Only the service port: the probe reaches health_check_port on 127.0.0.1 inside the task.
    assert box["PortMappings"] == [{"ContainerPort": PORTS[service], "Protocol": "tcp"}]


@pytest.mark.parametrize("service", sorted(SIZES))
def test_health_check_is_the_rendered_one_unchanged(hub, service):
    spec = hub.inputs.catalog.service(service)
    rendered = render_health_check(spec)
    hc = spec.health_check
    for size in SIZES[service]:
        check = container(hub.task_definitions()[f"{PREFIX}-{service}-{size}"])["HealthCheck"]
        assert check == {
            "Command": list(rendered.command),
            "Interval": hc.interval,
            "Timeout": hc.timeout,
            "Retries": hc.retries,
            "StartPeriod": hc.start_period,
        }


@pytest.mark.parametrize("service", sorted(SIZES))
def test_probe_url_and_curl_fails_on_http_errors(hub, service):
    for size in SIZES[service]:
        command = container(hub.task_definitions()[f"{PREFIX}-{service}-{size}"])["HealthCheck"]["Command"]
        assert command[0] == "CMD-SHELL" and len(command) == 2
        words = shlex.split(command[1])
        assert words[0] == "curl"
        curl_args = words[1 : words.index("||")]
        assert PROBE_URLS[service] in curl_args
        assert any(a == "--fail" or re.fullmatch(r"-[a-zA-Z]*f[a-zA-Z]*", a) for a in curl_args), command
        max_time = int(curl_args[curl_args.index("--max-time") + 1])
        assert max_time < container(hub.task_definitions()[f"{PREFIX}-{service}-{size}"])["HealthCheck"]["Timeout"]


def test_all_task_definitions_share_the_two_roles(hub):
    hub.template.resource_count_is("AWS::IAM::Role", 2)
    task_role = {"Fn::GetAtt": ["RolesTaskRoleF8D8DD59", "Arn"]}
    execution_role = {"Fn::GetAtt": ["RolesExecutionRoleAB9762F7", "Arn"]}
    for family, props in hub.task_definitions().items():
        assert (props["TaskRoleArn"], props["ExecutionRoleArn"]) == (task_role, execution_role), family


def test_execution_role_may_only_write_to_the_log_group(hub):
    hub.template.resource_count_is("AWS::IAM::Policy", 1)
    hub.template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "Roles": [{"Ref": "RolesExecutionRoleAB9762F7"}],
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                        "Effect": "Allow",
                        "Resource": {"Fn::GetAtt": ["Logs6819BB44", "Arn"]},
                    }
                ],
                "Version": "2012-10-17",
            },
        },
    )
    for role in hub.template.find_resources("AWS::IAM::Role").values():
        assert "Policies" not in role["Properties"] and "ManagedPolicyArns" not in role["Properties"]


def test_logical_ids_and_resource_count_are_stable(hub):
    assert set(hub.resources) == LOGICAL_IDS
    assert len(hub.resources) == 4 + len(FAMILIES)


def test_every_family_is_a_stack_output(hub):
    outputs = {key: value["Value"] for key, value in hub.template.to_json()["Outputs"].items()}
    expected = {
        f"Family{service.capitalize()}{size.capitalize()}": family for family, (service, size) in FAMILIES.items()
    }
    assert outputs == expected


def test_logs_go_to_one_group_per_environment_with_retention(hub):
    hub.template.resource_count_is("AWS::Logs::LogGroup", 1)
    hub.template.has_resource(
        "AWS::Logs::LogGroup",
        {
            "Properties": {"LogGroupName": f"/ecs/{PREFIX}", "RetentionInDays": hub.settings.log_retention_days},
            "DeletionPolicy": "Retain",
        },
    )
    assert hub.settings.log_retention_days == 30  # cdk.json's default
    for family, (service, _) in FAMILIES.items():
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

"""The task security group (issue 9.13): only the hub's group, only on each service's port, as an output."""

from __future__ import annotations

import pytest

from hubspec import load_catalog
from tests.catalogs import HUB_CATALOG_SERVICES, HUB_CATALOG_SIZES

pytestmark = pytest.mark.synth

VPC = "vpc-0123456789abcdef0"
HUB_SG = "sg-0fedcba9876543210"
SG = "AWS::EC2::SecurityGroup"


def ingress(template) -> list[dict]:
    (group,) = template.find_resources(SG).values()
    return group["Properties"]["SecurityGroupIngress"]


def expected_rules(services) -> list[dict]:
    """One rule per distinct service port, from the hub's group only: derived from the catalog."""
    ports = sorted({s.port for s in services})
    return [{"IpProtocol": "tcp", "FromPort": p, "ToPort": p, "SourceSecurityGroupId": HUB_SG} for p in ports]


def without_descriptions(rules: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "Description"} for r in rules]


def test_construct_in_a_bare_stack_admits_only_the_hub_on_service_ports():
    from aws_cdk import App, Stack
    from aws_cdk.assertions import Template

    from hubcdk import HubTaskSecurityGroup

    catalog = load_catalog(HUB_CATALOG_SERVICES, HUB_CATALOG_SIZES)
    stack = Stack(App(), "bare")
    HubTaskSecurityGroup(
        stack, "Tasks", vpc_id=VPC, hub_security_group_id=HUB_SG, services=catalog.services, prefix="p"
    )
    template = Template.from_stack(stack)
    template.resource_count_is(SG, 1)
    template.resource_count_is("AWS::EC2::SecurityGroupIngress", 0)  # no rule outside the group's own list
    (group,) = template.find_resources(SG).values()
    assert group["Properties"]["VpcId"] == VPC
    rules = ingress(template)
    assert without_descriptions(rules) == expected_rules(catalog.services)
    sidecars = {s.health_check.health_check_port for s in catalog.services} - {s.port for s in catalog.services}
    assert not {r["FromPort"] for r in rules} & sidecars  # a probe port is never opened
    assert all("CidrIp" not in r and "CidrIpv6" not in r for r in rules)
    assert "SecurityGroupEgress" not in group["Properties"]  # the EC2 default: tasks pull images, call the hub


def test_the_app_with_network_context_outputs_the_task_security_group(tmp_path, cdk_tools):
    hub = cdk_tools.synthesize(tmp_path, vpc_id=VPC, hub_security_group_id=HUB_SG)
    hub.shared.resource_count_is(SG, 1)
    assert without_descriptions(ingress(hub.shared)) == expected_rules(hub.inputs.catalog.services)
    (logical_id,) = hub.shared.find_resources(SG)
    outputs = hub.shared.to_json()["Outputs"]
    assert outputs["TaskSecurityGroupId"]["Value"] == {"Fn::GetAtt": [logical_id, "GroupId"]}
    homes = [k for k in outputs if k.startswith("Home")]  # the EFS homes' outputs (test_efs.py)
    # The created file system's id, read by the task-definition stacks through Fn::GetStackOutput (hub_stack.py)
    exports = [k for k in outputs if k.startswith("PublishOutput")]
    assert len(outputs) == len(homes) + len(exports) + 2  # and HubPolicyArn


def test_without_network_context_the_stack_has_no_security_group(hub):
    hub.shared.resource_count_is(SG, 0)
    assert "TaskSecurityGroupId" not in hub.shared.to_json().get("Outputs", {})
    assert hub.settings.network is None

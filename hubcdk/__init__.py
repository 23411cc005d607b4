"""CDK constructs for the hub's ECS Fargate task definitions.

Named `hubcdk`, not `constructs`: a root package called `constructs` would
shadow the `constructs` library that aws-cdk-lib imports. Every value these
constructs render comes from `hubspec`; they only translate it to aws-cdk-lib.
"""

from hubcdk.cluster import HubCluster
from hubcdk.findings import annotate_findings
from hubcdk.health import ecs_health_check
from hubcdk.hub_policy import HubSpawnerPolicy
from hubcdk.logs import environment_log_group, retention_days
from hubcdk.network import HubTaskSecurityGroup, service_ports
from hubcdk.roles import HubTaskRoles
from hubcdk.service import HubServiceTaskDefinitions

__all__ = [
    "HubCluster",
    "HubServiceTaskDefinitions",
    "HubSpawnerPolicy",
    "HubTaskRoles",
    "HubTaskSecurityGroup",
    "annotate_findings",
    "ecs_health_check",
    "environment_log_group",
    "retention_days",
    "service_ports",
]

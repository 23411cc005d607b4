"""CDK constructs for the hub's ECS Fargate task definitions.

Named `hubcdk`, not `constructs`: a root package called `constructs` would
shadow the `constructs` library that aws-cdk-lib imports. Every value these
constructs render comes from `hubspec`; they only translate it to aws-cdk-lib.
"""

from hubcdk.cluster import HubCluster
from hubcdk.efs import HubHomeFileSystem, HubHomeMountTargets
from hubcdk.findings import annotate_findings
from hubcdk.hub_policy import HubSpawnerPolicy
from hubcdk.logs import environment_log_group, log_group_name, retention_days
from hubcdk.network import HubTaskSecurityGroup, service_ports
from hubcdk.roles import HubTaskRoles, check_no_grants, imported_task_roles
from hubcdk.task_definitions import HubTaskDefinitions
from hubcdk.task_template import catalog_template, container_images, ecs_health_check, service_template

__all__ = [
    "HubCluster",
    "HubHomeFileSystem",
    "HubHomeMountTargets",
    "HubSpawnerPolicy",
    "HubTaskDefinitions",
    "HubTaskRoles",
    "HubTaskSecurityGroup",
    "annotate_findings",
    "catalog_template",
    "check_no_grants",
    "container_images",
    "ecs_health_check",
    "environment_log_group",
    "imported_task_roles",
    "log_group_name",
    "retention_days",
    "service_ports",
    "service_template",
]

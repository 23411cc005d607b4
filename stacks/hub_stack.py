"""The stack: wiring only. What each resource looks like is decided in `hubcdk`."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from hubcdk import (
    HubCluster,
    HubServiceTaskDefinitions,
    HubSpawnerPolicy,
    HubTaskRoles,
    HubTaskSecurityGroup,
    annotate_findings,
    environment_log_group,
)
from hubspec.lint import Finding
from hubspec.model import Catalog
from hubspec.naming import output_id


class HubTaskDefinitionsStack(Stack):
    """Log group, the two shared roles, one construct per service, one output per family; with a VPC id
    and the hub's security group id, a task security group (and its output).

    Environment-agnostic on purpose (no account, no region, no lookups): it
    synthesizes without credentials and deploys to whichever account
    `cdk deploy` is pointed at.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        catalog: Catalog,
        findings: tuple[Finding, ...],
        prefix: str,
        images: Mapping[str, str],
        log_retention_days: int,
        vpc_id: str | None = None,
        hub_security_group_id: str | None = None,
        cluster_name: str = "",
        create_cluster: bool = False,
    ) -> None:
        super().__init__(scope, construct_id, description=f"Hub ECS task definitions ({prefix})")
        log_group = environment_log_group(self, "Logs", prefix=prefix, retention=log_retention_days)
        roles = HubTaskRoles(self, "Roles")
        annotate_findings(self, [f for f in findings if f.service not in {s.name for s in catalog.services}])
        self.services: dict[str, HubServiceTaskDefinitions] = {}
        for spec in catalog.services:
            service = HubServiceTaskDefinitions(
                self,
                spec.name,
                spec=spec,
                sizes=[catalog.sizes[name] for name in spec.sizes],
                prefix=prefix,
                image=images.get(spec.name, spec.image),
                task_role=roles.task_role,
                execution_role=roles.execution_role,
                log_group=log_group,
                findings=[f for f in findings if f.service == spec.name],
            )
            for size, family in service.families.items():
                CfnOutput(
                    self,
                    output_id(spec.name, size),
                    value=family,
                    description=f"ECS task definition family of {spec.name} ({size})",
                )
            self.services[spec.name] = service
        cluster_name = cluster_name or prefix
        self.cluster = HubCluster(self, "Cluster", cluster_name=cluster_name) if create_cluster else None
        self.hub_policy = HubSpawnerPolicy(
            self,
            "HubPolicy",
            prefix=prefix,
            cluster_name=cluster_name,
            task_role=roles.task_role,
            execution_role=roles.execution_role,
        )
        CfnOutput(
            self,
            "HubPolicyArn",
            value=self.hub_policy.policy.managed_policy_arn,
            description=f"Managed policy to attach to the hub's role: the ECS spawner's calls on cluster {cluster_name}",
        )
        self.task_security_group: HubTaskSecurityGroup | None = None
        if vpc_id and hub_security_group_id:  # only with both context keys: otherwise the stack is unchanged
            self.task_security_group = HubTaskSecurityGroup(
                self,
                "TaskSecurityGroup",
                vpc_id=vpc_id,
                hub_security_group_id=hub_security_group_id,
                services=catalog.services,
                prefix=prefix,
            )
            CfnOutput(
                self,
                "TaskSecurityGroupId",
                value=self.task_security_group.group_id,
                description="Security group for the hub's tasks (c.ECSSpawner.security_groups): "
                "only the hub's group, only on each service's port",
            )

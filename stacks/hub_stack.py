"""The stacks: wiring only. What each resource looks like is decided in `hubcdk`.

One shared stack `<prefix>-shared` holds what every task definition uses; the task definitions
are spread over stacks `<prefix>-task-definitions-<NN>`, one per non-empty hash bucket of service
names (`hubspec.sharding`: a service never moves to another stack when others are added). A
task-definition stack names the shared resources by their fixed physical names (roles, log group)
and depends on the shared stack, so there is no CloudFormation export between them. The one value
that cannot have a fixed name, the id of an EFS file system the shared stack creates, is read with
a weak reference (cdk.json `@aws-cdk/core:defaultCrossStackReferences: weak`: `Fn::GetStackOutput`,
which locks nothing in the shared stack, unlike an export).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from hubcdk import (
    HubCluster,
    HubHomeFileSystem,
    HubSpawnerPolicy,
    HubTaskDefinitions,
    HubTaskRoles,
    HubTaskSecurityGroup,
    annotate_findings,
    check_no_grants,
    container_images,
    environment_log_group,
    imported_task_roles,
    log_group_name,
)
from hubspec.health.lint import Finding
from hubspec.model import Catalog, ServiceSpec, SizeSpec


class HubSharedStack(Stack):
    """Everything the task definitions share: the log group, the two roles with every grant they hold
    and, with a VPC id and the hub's security group id, the task security group (and its output).

    Add further shared resources here, one construct each. A task-definition stack reaches them by
    a fixed physical name, not by a reference (a reference would become a CloudFormation export).

    Environment-agnostic on purpose (no account, no region, no lookups): it synthesizes without
    credentials and deploys to whichever account `cdk deploy` is pointed at.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        catalog: Catalog,
        findings: Sequence[Finding],
        prefix: str,
        images: Mapping[str, str],
        log_retention_days: int,
        vpc_id: str | None = None,
        hub_security_group_id: str | None = None,
        efs_file_system_id: str | None = None,
        efs_access_point_id: str | None = None,
        efs_subnet_ids: Sequence[str] = (),
        cluster_name: str = "",
        create_cluster: bool = False,
    ) -> None:
        super().__init__(scope, construct_id, description=f"Hub shared resources for ECS task definitions ({prefix})")
        self.log_group = environment_log_group(self, "Logs", prefix=prefix, retention=log_retention_days)
        self.roles = HubTaskRoles(self, "Roles", prefix=prefix)
        self.roles.grant_task_start(
            log_group=self.log_group,
            images=[
                reference
                for spec in catalog.services
                for reference in container_images(spec, images.get(spec.name, spec.image)).values()
            ],
            secrets=[arn for spec in catalog.services for c in spec.containers for arn in c.secrets.values()],
            exec_enabled=any(spec.exec_enabled for spec in catalog.services),
        )
        annotate_findings(self, [f for f in findings if f.service not in {s.name for s in catalog.services}])
        self.home = home_file_system(self, catalog, self.roles, prefix, efs_file_system_id, efs_access_point_id)
        cluster_name = cluster_name or prefix
        self.cluster = HubCluster(self, "Cluster", cluster_name=cluster_name) if create_cluster else None
        self.hub_policy = HubSpawnerPolicy(
            self,
            "HubPolicy",
            prefix=prefix,
            cluster_name=cluster_name,
            task_role=self.roles.task_role,
            execution_role=self.roles.execution_role,
            extra_statements=self.home.hub_statements(prefix=prefix) if self.home else (),
            extra_wildcards=self.home.hub_wildcards(prefix=prefix) if self.home else None,
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
        if self.home is not None:  # mount targets with subnets + task security group; else a warning (docs/efs.md)
            group = self.task_security_group.group_id if self.task_security_group else None
            self.home.add_mount_targets(
                prefix=prefix, vpc_id=vpc_id, task_security_group_id=group, subnet_ids=efs_subnet_ids
            )


class HubTaskDefinitionsStack(Stack):
    """The task definitions of one hash bucket of services, on the shared roles and log group.

    No outputs: a family is `<prefix>-<service>-<size>`, derived from the catalog the hub reads.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        services: Sequence[ServiceSpec],
        sizes: Mapping[str, SizeSpec],
        findings: Sequence[Finding],
        prefix: str,
        images: Mapping[str, str],
        bucket: str,
        home: HubHomeFileSystem | None = None,
    ) -> None:
        super().__init__(scope, construct_id, description=f"Hub ECS task definitions ({prefix}, bucket {bucket})")
        task_role, execution_role = imported_task_roles(self, prefix=prefix)
        self.task_definitions = HubTaskDefinitions(
            self,
            "TaskDefinitions",
            services=services,
            sizes=sizes,
            prefix=prefix,
            images=images,
            task_role_arn=task_role.role_arn,
            execution_role_arn=execution_role.role_arn,
            log_group_name=log_group_name(prefix),
            findings=findings,
            home=home,
        )
        check_no_grants(task_role, execution_role)


def home_file_system(
    stack: Stack, catalog: Catalog, roles: HubTaskRoles, prefix: str, fs_id: str | None, ap_id: str | None
) -> HubHomeFileSystem | None:
    """The EFS homes' file system (and its outputs) when a service declares `efs`; None otherwise."""
    if not any(s.efs for s in catalog.services):
        return None
    home = HubHomeFileSystem(
        stack,
        "Homes",
        services=catalog.services,
        task_role=roles.task_role,
        prefix=prefix,
        file_system_id=fs_id,
        shared_access_point_id=ap_id,
    )
    CfnOutput(stack, "HomeFileSystemId", value=home.file_system_id, description="c.ECSSpawner.efs_file_system_id")
    if home.shared_access_point_id is not None:
        CfnOutput(stack, "HomeSharedAccessPointId", value=home.shared_access_point_id, description="shared EFS home")
    return home

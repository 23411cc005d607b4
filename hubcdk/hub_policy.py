"""The managed policy a hub attaches to its own role: exactly the ECS and IAM calls the spawner makes.

Every statement is scoped: RunTask to this prefix's task definition families and (by condition) to
the one cluster; StopTask, DescribeTasks and the tags RunTask adds to that cluster's tasks; ListTasks
by condition to the cluster; PassRole to the two shared roles, and only to ECS tasks. DescribeTaskDefinition
has no resource-level permissions in IAM, so it is the one action on `*`.

Features that make more calls (per-user storage, ECS Exec) hand their statements in as
`extra_statements`: the policy stays one document, and the policy test checks every call the
spawner's tests make against it, whichever feature made it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Acknowledgment, Stack, Validations
from aws_cdk import aws_iam as iam
from constructs import Construct

from hubcdk.roles import ECS_TASKS


class HubSpawnerPolicy(Construct):
    """`policy`: an `iam.ManagedPolicy` for the hub's role; `cluster_arn`: the cluster it is scoped to."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        cluster_name: str,
        task_role: iam.IRole,
        execution_role: iam.IRole,
        extra_statements: Sequence[iam.PolicyStatement] = (),
        extra_wildcards: Mapping[str, str] | None = None,
    ) -> None:
        """`extra_wildcards`: each wildcard resource of `extra_statements` as cdk-nag names it, with the reason."""
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.cluster_arn = stack.format_arn(service="ecs", resource="cluster", resource_name=cluster_name)
        cluster_tasks = stack.format_arn(service="ecs", resource="task", resource_name=f"{cluster_name}/*")
        families = stack.format_arn(
            service="ecs",
            resource="task-definition",
            resource_name=f"{prefix}-*",  # every revision of every <prefix>-<service>-<size> family
        )
        on_cluster = {"ArnEquals": {"ecs:cluster": self.cluster_arn}}
        statements = [
            iam.PolicyStatement(
                sid="RunTaskFamiliesOfThisPrefixOnTheCluster",
                actions=["ecs:RunTask"],
                resources=[families],
                conditions=on_cluster,
            ),
            iam.PolicyStatement(
                sid="StopAndDescribeTheClustersTasks",
                actions=["ecs:StopTask", "ecs:DescribeTasks"],
                resources=[cluster_tasks],
            ),
            iam.PolicyStatement(
                sid="ListTasksOfTheCluster",
                actions=["ecs:ListTasks"],
                resources=["*"],
                conditions=on_cluster,
            ),
            iam.PolicyStatement(
                sid="TagTasksOnlyWhileRunTaskCreatesThem",
                actions=["ecs:TagResource"],
                resources=[cluster_tasks],
                conditions={"StringEquals": {"ecs:CreateAction": "RunTask"}},
            ),
            iam.PolicyStatement(
                sid="DescribeTaskDefinitions",  # no resource-level permissions in IAM for this action
                actions=["ecs:DescribeTaskDefinition"],
                resources=["*"],
            ),
            iam.PolicyStatement(
                sid="PassTheSharedRolesToEcsTasks",
                actions=["iam:PassRole"],
                resources=[task_role.role_arn, execution_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": ECS_TASKS}},
            ),
            *extra_statements,
        ]
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            description=f"Attach to the JupyterHub hub's role: ECS spawner calls for {prefix} on cluster {cluster_name}",
            statements=statements,
        )
        # cdk-nag's AwsSolutions-IAM5 flags every `*` in a resource. Each one here is the narrowest IAM allows;
        # acknowledged on this policy only, one finding id (with its exact resource) per reason.
        tokens = "arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>"
        for resource, reason in (
            (
                f"{tokens}:task-definition/{prefix}-*",
                "RunTask on every revision of this prefix's families (<prefix>-<service>-<size>, and a user's own "
                "family derived from one), only on this cluster (ecs:cluster condition)",
            ),
            (
                f"{tokens}:task/{cluster_name}/*",
                "StopTask, DescribeTasks and RunTask's tags on this cluster's tasks; task ids are random",
            ),
            (
                "*",
                "ecs:ListTasks is conditioned on this cluster; ecs:DescribeTaskDefinition (and, with per-user "
                "homes, ListTaskDefinitions, ListTaskDefinitionFamilies, DeregisterTaskDefinition) has no "
                "resource-level permissions in IAM",
            ),
            *(extra_wildcards or {}).items(),
        ):
            Validations.of(self.policy).acknowledge(
                Acknowledgment(id=f"AwsSolutions::AwsSolutions-IAM5[Resource::{resource}]", reason=reason)
            )

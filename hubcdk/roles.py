"""The two IAM roles every task definition shares, and every grant they hold.

Shared, not one pair per task definition: aws-cdk-lib's `FargateTaskDefinition` would create its own
task role (and an execution role with its own policy once logging is on), 2-3 resources per
service x size, against CloudFormation's 500-resource limit per stack.

The roles live in the shared stack under fixed names (`hubspec.naming.role_name`), so the
task-definition stacks refer to them by name (`imported_task_roles`) without a CloudFormation export,
which would lock the shared stack against changes. Grants are therefore all made here, from the
whole catalog, into the one default policy of the execution role; `check_no_grants` refuses a grant
made in a task-definition stack (it would make an extra inline policy per stack there).
"""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import Aws
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from hubcdk.containers import ECR_TOKEN_WILDCARD, acknowledge_wildcard, grant_exec, grant_secret_reads
from hubspec.images import ecr_repository
from hubspec.naming import role_name

ECS_TASKS = "ecs-tasks.amazonaws.com"


def ecs_tasks_in_this_account() -> iam.ServicePrincipal:
    """ECS tasks may assume the role only on behalf of this stack's account (aws:SourceAccount): the
    confused-deputy guard AWS recommends for both task roles and execution roles."""
    return iam.ServicePrincipal(ECS_TASKS, conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}})


class HubTaskRoles(Construct):
    """`task_role` (what the server's code may call: nothing yet) and `execution_role` (what ECS needs to
    start the task: log writes to the environment's group, pull rights for each private ECR repository
    an image names)."""

    def __init__(self, scope: Construct, construct_id: str, *, prefix: str) -> None:
        super().__init__(scope, construct_id)
        self.task_role = iam.Role(
            self,
            "TaskRole",
            role_name=role_name(prefix, "task"),
            assumed_by=ecs_tasks_in_this_account(),
            description="Shared by every hub task definition: AWS access of the single-user servers",
        )
        self.execution_role = iam.Role(
            self,
            "ExecutionRole",
            role_name=role_name(prefix, "execution"),
            assumed_by=ecs_tasks_in_this_account(),
            description="Shared by every hub task definition: lets ECS pull images and write logs",
        )

    def grant_task_start(
        self,
        *,
        log_group: logs.ILogGroup,
        images: Iterable[str],
        secrets: Iterable[str] = (),
        exec_enabled: bool = False,
    ) -> None:
        """What ECS needs to start any task of the catalog: pull rights on each private ECR repository
        among `images` (and ecr:GetAuthorizationToken, which has no resource), log writes to the group,
        a read of exactly each container secret; with ECS Exec, the task role's ssmmessages channels."""
        repositories = {r.arn: r for image in images if (r := ecr_repository(image)) is not None}
        for i, arn in enumerate(sorted(repositories)):
            repository = repositories[arn]
            ecr.Repository.from_repository_attributes(
                self, f"Repository{i}", repository_arn=repository.arn, repository_name=repository.name
            ).grant_pull(self.execution_role)
        log_group.grant_write(self.execution_role)
        grant_secret_reads(self.execution_role, secrets)
        if repositories:
            acknowledge_wildcard(self.execution_role, ECR_TOKEN_WILDCARD)
        if exec_enabled:
            grant_exec(self.task_role)


def imported_task_roles(scope: Construct, *, prefix: str) -> tuple[iam.IRole, iam.IRole]:
    """(task role, execution role) of the shared stack, by their fixed names (no export)."""
    return (
        iam.Role.from_role_name(scope, "TaskRole", role_name(prefix, "task")),
        iam.Role.from_role_name(scope, "ExecutionRole", role_name(prefix, "execution")),
    )


def check_no_grants(*roles: iam.IRole) -> None:
    """A grant on an imported shared role would add an inline policy in the task-definition stack:
    make it in the shared stack (HubTaskRoles) instead, from the catalog."""
    for role in roles:
        if role.node.children:
            paths = ", ".join(child.node.path for child in role.node.children)
            raise ValueError(
                f"a grant to the shared role {role.node.path} was made in a task-definition stack ({paths}); "
                "grant it in the shared stack (hubcdk.roles.HubTaskRoles), from the whole catalog"
            )

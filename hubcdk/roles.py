"""The two IAM roles every task definition of a stack shares.

Without them each `FargateTaskDefinition` creates its own task role (and an
execution role with its own policy once logging is on): 2-3 resources per
service x size, against CloudFormation's 500-resource limit per stack.
"""

from __future__ import annotations

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from constructs import Construct

ECS_TASKS = "ecs-tasks.amazonaws.com"


def ecs_tasks_in_this_account() -> iam.ServicePrincipal:
    """ECS tasks may assume the role only on behalf of this stack's account (aws:SourceAccount): the
    confused-deputy guard AWS recommends for both task roles and execution roles."""
    return iam.ServicePrincipal(ECS_TASKS, conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}})


class HubTaskRoles(Construct):
    """`task_role` (what the server's code may call: nothing yet) and `execution_role` (what ECS
    needs to start the task: aws-cdk-lib adds the log-write grant when a container logs to a group,
    and HubServiceTaskDefinitions adds pull rights for each private ECR repository an image names)."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.task_role = iam.Role(
            self,
            "TaskRole",
            assumed_by=ecs_tasks_in_this_account(),
            description="Shared by every hub task definition: AWS access of the single-user servers",
        )
        self.execution_role = iam.Role(
            self,
            "ExecutionRole",
            assumed_by=ecs_tasks_in_this_account(),
            description="Shared by every hub task definition: lets ECS pull images and write logs",
        )

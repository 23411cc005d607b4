"""The grants a service's containers need on the shared roles, made in the shared stack from the whole catalog.

Secrets are rendered with their ARNs as written (`hubcdk.task_template`): no lookup, no import by name.
aws-cdk-lib's own `Secret.from_secrets_manager` / `from_ssm_parameter` would grant more than ECS needs
(DescribeSecret; GetParameter, GetParameterHistory, DescribeParameters) and rebuild an SSM ARN in the
stack's own region and account. `grant_secret_reads` gives the execution role exactly one read action
on exactly the secret's ARN (a `:json-key:stage:id` suffix stripped: IAM knows the secret, not the key).
"""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import Acknowledgment, Validations
from aws_cdk import aws_iam as iam

from hubspec.secrets import secret_ref

# What ECS Exec needs on the task role (the SSM agent in the task opens these channels); these actions
# have no resource type, so `*` is the only resource they take.
EXEC_ACTIONS = (
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
)


def grant_secret_reads(execution_role: iam.IRole, secrets: Iterable[str]) -> None:
    """Exactly one read action on exactly each secret's resource (the ARN without a `:json-key:...` suffix)."""
    refs = {(ref.action, ref.resource) for ref in (secret_ref(value) for value in secrets)}
    for action, resource in sorted(refs):
        execution_role.add_to_principal_policy(iam.PolicyStatement(actions=[action], resources=[resource]))


# cdk-nag's AwsSolutions pack (run by the tests) flags these; each is acknowledged where it arises, on the
# one construct it concerns, only when the service file asks for what causes it.
EXEC_WILDCARD = Acknowledgment(
    id="AwsSolutions::AwsSolutions-IAM5[Resource::*]",
    reason="ECS Exec: the ssmmessages channel actions have no resource type, so `*` is the only resource they take",
)
ECR_TOKEN_WILDCARD = Acknowledgment(
    id="AwsSolutions::AwsSolutions-IAM5[Resource::*]",
    reason="ecr:GetAuthorizationToken has no resource type (`*` only); the pull actions are on the repositories",
)


def acknowledge_wildcard(role: iam.IRole, acknowledgment: Acknowledgment) -> None:
    """An IAM5 `Resource::*` finding, on the role's default policy only (not the role, not the stack)."""
    policy = role.node.try_find_child("DefaultPolicy")
    if policy is not None:
        Validations.of(policy).acknowledge(acknowledgment)


def grant_exec(task_role: iam.IRole) -> None:
    """ECS Exec's four ssmmessages actions on the shared task role (a repeated grant adds nothing)."""
    task_role.add_to_principal_policy(iam.PolicyStatement(actions=list(EXEC_ACTIONS), resources=["*"]))
    acknowledge_wildcard(task_role, EXEC_WILDCARD)

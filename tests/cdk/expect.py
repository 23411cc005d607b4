"""Expected IAM statements, shared by the construct tests (fixture images) and the bundled-catalog tests."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

ECR_PULL_ACTIONS = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]


def execution_role_statements(log_group_id: str, repository_arns: Iterable[str]) -> list[dict[str, Any]]:
    """Log writes to the one group; with private ECR images, pull rights on exactly those repositories
    and ecr:GetAuthorizationToken (an action without a resource). As aws-cdk-lib renders them, with
    `@aws-cdk/aws-iam:minimizePolicies` on: one statement for all repositories."""
    logs = {
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Effect": "Allow",
        "Resource": {"Fn::GetAtt": [log_group_id, "Arn"]},
    }
    arns = sorted(set(repository_arns))
    if not arns:
        return [logs]
    pull = {"Action": ECR_PULL_ACTIONS, "Effect": "Allow", "Resource": arns[0] if len(arns) == 1 else arns}
    token = {"Action": "ecr:GetAuthorizationToken", "Effect": "Allow", "Resource": "*"}
    return [pull, token, logs]

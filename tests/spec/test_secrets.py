"""A `secrets` ARN as ECS reads it and as IAM grants it."""

from __future__ import annotations

import pytest

from hubspec.secrets import secret_ref

SM = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf"


@pytest.mark.parametrize(
    ("value", "resource", "action", "has_field"),
    [
        (SM, SM, "secretsmanager:GetSecretValue", False),
        (SM + ":password::", SM, "secretsmanager:GetSecretValue", True),
        (SM + "::AWSPREVIOUS:", SM, "secretsmanager:GetSecretValue", False),
        (
            "arn:aws:ssm:eu-west-1:123456789012:parameter/hub/token",
            "arn:aws:ssm:eu-west-1:123456789012:parameter/hub/token",
            "ssm:GetParameters",
            False,
        ),
    ],
)
def test_json_key_suffix_is_stripped_for_the_grant(value, resource, action, has_field):
    ref = secret_ref(value)
    assert (ref.value_from, ref.resource, ref.action, ref.has_field) == (value, resource, action, has_field)


def test_other_arns_are_refused():
    with pytest.raises(ValueError, match="not the ARN of a Secrets Manager secret or an SSM parameter"):
        secret_ref("arn:aws:s3:::bucket/key")

"""What a `secrets` value (an ARN the schema accepted) means for IAM: which resource, which action.

A Secrets Manager value may carry `:json-key:version-stage:version-id` after the secret's ARN
(`arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf:password::`). ECS reads that whole
string, but IAM knows only the secret: the grant is on the first seven `:`-separated parts. An SSM
parameter's ARN is its own resource.
"""

from __future__ import annotations

from dataclasses import dataclass

# The one read action ECS needs per kind (nothing wider: no DescribeSecret, no GetParameterHistory).
READ_ACTIONS = {"secretsmanager": "secretsmanager:GetSecretValue", "ssm": "ssm:GetParameters"}


@dataclass(frozen=True)
class SecretRef:
    """A container secret as ECS takes it (`value_from`) and as IAM grants it (`resource`, `action`)."""

    value_from: str
    kind: str  # "secretsmanager" or "ssm"
    resource: str

    @property
    def action(self) -> str:
        return READ_ACTIONS[self.kind]

    @property
    def has_field(self) -> bool:
        """A Secrets Manager value that names a JSON key (`...:secret:name:key::`)."""
        return self.kind == "secretsmanager" and bool(self.value_from[len(self.resource) + 1 :].split(":")[0])


def secret_ref(value_from: str) -> SecretRef:
    """Split a loaded `secrets` value; ValueError for anything that is not a Secrets Manager or SSM ARN."""
    parts = value_from.split(":")
    kind = parts[2] if len(parts) > 2 and parts[0] == "arn" else ""
    if kind not in READ_ACTIONS or len(parts) < (7 if kind == "secretsmanager" else 6):
        raise ValueError(f"{value_from!r} is not the ARN of a Secrets Manager secret or an SSM parameter")
    resource = ":".join(parts[:7]) if kind == "secretsmanager" else value_from
    return SecretRef(value_from=value_from, kind=kind, resource=resource)

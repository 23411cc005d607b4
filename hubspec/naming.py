"""Task definition family names, shared by the CDK app and the spawner."""

from __future__ import annotations

import re

_ECS_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")


def family_name(prefix: str, service: str, size: str) -> str:
    """`<prefix>-<service>-<size>`, checked against ECS's family rules (255 of [A-Za-z0-9_-])."""
    name = f"{prefix}-{service}-{size}"
    if not (prefix and service and size) or not _ECS_NAME.match(name):
        raise ValueError(
            f"task definition family {name!r} is not a valid ECS name: "
            "at most 255 characters of letters, digits, '_' and '-'"
        )
    return name


# The shared roles have fixed names, so the task-definition stacks name them without a CloudFormation
# export; IAM role names are at most 64 characters, the longest is `<prefix>-execution-role`.
ROLE_SUFFIXES = {"task": "-task-role", "execution": "-execution-role"}
MAX_PREFIX = 64 - max(len(suffix) for suffix in ROLE_SUFFIXES.values())


def role_name(prefix: str, role: str) -> str:
    """`<prefix>-task-role` or `<prefix>-execution-role`: the physical name of a shared role."""
    return prefix + ROLE_SUFFIXES[role]


def check_prefix(prefix: str) -> str | None:
    """Why `prefix` cannot start a family name and the shared roles' names, or None if it can."""
    if not prefix:
        return "is empty"
    if not re.fullmatch(r"[A-Za-z0-9_-]+", prefix):
        return f"{prefix!r} may hold only letters, digits, '_' and '-'"
    if len(prefix) > MAX_PREFIX:
        return (
            f"{prefix!r} is longer than {MAX_PREFIX} characters (the shared role {role_name(prefix, 'execution')!r} "
            "must fit IAM's 64)"
        )
    return None

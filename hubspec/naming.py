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


def check_prefix(prefix: str) -> str | None:
    """Why `prefix` cannot start a family name, or None if it can."""
    if not prefix:
        return "is empty"
    if not re.fullmatch(r"[A-Za-z0-9_-]+", prefix):
        return f"{prefix!r} may hold only letters, digits, '_' and '-'"
    if len(prefix) > 255 - 2 - 64 - 64:
        return f"{prefix!r} is longer than {255 - 2 - 64 - 64} characters"
    return None


def output_id(service: str, size: str) -> str:
    """`FamilyWaiideMedium`: the stack output (and construct id) of one task definition.

    Readable in `cdk deploy --outputs-file`, derived from names only. `-` and `_`
    both split words, so different names can give the same id (`chat-x` and
    `chat_x`); the loader refuses such catalogs (`catalog_collisions`).
    """
    words = f"{service}-{size}".replace("_", "-").split("-")
    return "Family" + "".join(w[:1].upper() + w[1:] for w in words)

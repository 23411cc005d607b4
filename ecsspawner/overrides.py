"""RunTask's `overrides`: built once, measured against ECS's limit before RunTask is called.

ECS allows at most 8192 characters of overrides, JSON formatting included ("A total of
8192 characters are allowed for overrides", RunTask API reference). Past it RunTask fails
with a bare ClientException; the spawner measures first and says which variables are large.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

MAX_OVERRIDES_CHARS = 8192


def container_overrides(container: str, env: Mapping[str, str]) -> dict:
    """The `overrides` argument of RunTask: the hub's environment for one container."""
    return {
        "containerOverrides": [
            {"name": container, "environment": [{"name": k, "value": str(v)} for k, v in env.items()]}
        ]
    }


def overrides_size(overrides: dict) -> int:
    """Characters of `overrides` as compact JSON: what ECS counts against its limit."""
    return len(json.dumps(overrides, separators=(",", ":"), ensure_ascii=False))


def too_large(overrides: dict, env: Mapping[str, str], limit: int = MAX_OVERRIDES_CHARS) -> str | None:
    """Why RunTask would refuse `overrides` for size (with the largest variables), or None."""
    size = overrides_size(overrides)
    if size <= limit:
        return None
    largest = sorted(env.items(), key=lambda kv: len(kv[0]) + len(str(kv[1])), reverse=True)[:3]
    names = ", ".join(f"{k} ({len(k) + len(str(v))} characters)" for k, v in largest)
    return (
        f"the server's environment is {size} characters as ECS container overrides; ECS allows at most "
        f"{limit} (largest: {names})"
    )

"""The JSON Schemas shipped in hubspec/schemas, and the ECS ranges they hold (one source of truth)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

TIMING_FIELDS = ("interval", "timeout", "retries", "start_period")


@cache
def schema(name: str) -> dict[str, Any]:
    """`service` or `sizes`: the JSON Schema shipped in hubspec/schemas."""
    text = resources.files("hubspec").joinpath("schemas", f"{name}.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@cache
def health_check_ranges() -> dict[str, tuple[int, int]]:
    """The ECS API ranges of the timing fields (interval 5-300, timeout 2-60, retries 1-10, start_period 0-300)."""
    props = schema("service")["$defs"]["health_check"]["properties"]
    return {field: (props[field]["minimum"], props[field]["maximum"]) for field in TIMING_FIELDS}


def timing_problems(interval: int, timeout: int, retries: int, start_period: int) -> list[tuple[str, str]]:
    """(field, message) for each value ECS or aws-cdk-lib refuses. The loader reports these for YAML
    (as schema errors and one cross-field check) and HealthCheckSpec refuses them for specs built in code."""
    values = {"interval": interval, "timeout": timeout, "retries": retries, "start_period": start_period}
    out = [
        (field, f"{field} {value} is outside the ECS range {low}-{high}")
        for field, (low, high) in health_check_ranges().items()
        if not low <= (value := values[field]) <= high
    ]
    if timeout > interval:
        out.append(("timeout", timeout_above_interval(timeout, interval)))
    return out


def timeout_above_interval(timeout: int, interval: int) -> str:
    return (
        f"timeout {timeout} is greater than interval {interval}; allowed: timeout <= interval "
        "(aws-cdk-lib rejects a longer timeout)"
    )

"""The Fargate CPU/memory table (MiB), because CDK accepts bad pairs and cfn-lint only warns."""

from __future__ import annotations

# cpu -> (lowest, highest, step); 256 is irregular and listed explicitly.
_RANGES = {
    512: (1024, 4096, 1024),
    1024: (2048, 8192, 1024),
    2048: (4096, 16384, 1024),
    4096: (8192, 30720, 1024),
    8192: (16384, 61440, 4096),
    16384: (32768, 122880, 8192),
}


def allowed_memory(cpu: int) -> tuple[int, ...]:
    """Every memory value Fargate accepts for `cpu`; empty for an unknown cpu."""
    if cpu == 256:
        return (512, 1024, 2048)
    if cpu not in _RANGES:
        return ()
    low, high, step = _RANGES[cpu]
    return tuple(range(low, high + 1, step))


def describe_allowed(cpu: int) -> str:
    if cpu == 256:
        return "512, 1024 or 2048"
    low, high, step = _RANGES[cpu]
    return f"{low}-{high} in steps of {step}"

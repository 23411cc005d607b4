"""The rendered health check as an `aws_ecs.HealthCheck`, with nothing changed on the way."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_ecs as ecs

from hubspec.render import RenderedHealthCheck


def ecs_health_check(rendered: RenderedHealthCheck) -> ecs.HealthCheck:
    """Command list and timings exactly as `hubspec.render` made them.

    aws-cdk-lib rewrites a one-element command into `CMD-SHELL`; every rendered
    command is `CMD-SHELL <line>` or `CMD <prog> ...`, so that rewrite can never
    apply, and refusing a short list here keeps it that way.
    """
    if len(rendered.command) < 2 or rendered.command[0] not in ("CMD", "CMD-SHELL"):
        raise ValueError(f"health-check command must start with CMD or CMD-SHELL and an argument: {rendered.command!r}")
    return ecs.HealthCheck(
        command=list(rendered.command),
        interval=Duration.seconds(rendered.interval),
        timeout=Duration.seconds(rendered.timeout),
        retries=rendered.retries,
        start_period=Duration.seconds(rendered.start_period),
    )

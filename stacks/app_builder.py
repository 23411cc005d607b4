"""Build the CDK App and the stack: the one path `app.py` and the tests both take."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import App

from stacks.context import HubSettings
from stacks.hub_stack import HubTaskDefinitionsStack
from stacks.inputs import HubInputs

# What `cdk synth` passes by default, so an in-process synth writes the same bytes.
CLI_DEFAULTS = {"aws:cdk:enable-path-metadata": True}


def stack_name(prefix: str) -> str:
    return f"{prefix}-task-definitions"


def create_app(*, context: Mapping[str, Any], outdir: str | None = None) -> App:
    """No version reporting: the CDKMetadata resource would make templates vary with the library set."""
    return App(
        outdir=outdir,
        analytics_reporting=False,
        post_cli_context={**CLI_DEFAULTS, **context},
    )


def build_stack(app: App, *, settings: HubSettings, inputs: HubInputs) -> HubTaskDefinitionsStack:
    return HubTaskDefinitionsStack(
        app,
        stack_name(settings.prefix),
        catalog=inputs.catalog,
        findings=inputs.findings,
        prefix=settings.prefix,
        images=settings.images,
        log_retention_days=settings.log_retention_days,
        vpc_id=settings.network.vpc_id if settings.network else None,
        hub_security_group_id=settings.network.hub_security_group_id if settings.network else None,
        cluster_name=settings.cluster_name,
        create_cluster=settings.create_cluster,
    )

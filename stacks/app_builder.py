"""Build the CDK App and its stacks: the one path `app.py` and the tests both take."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_cdk import App

from hubspec.sharding import shard_label, shards
from stacks.context import HubSettings
from stacks.hub_stack import HubSharedStack, HubTaskDefinitionsStack
from stacks.inputs import HubInputs

# What `cdk synth` passes by default, so an in-process synth writes the same bytes.
CLI_DEFAULTS = {"aws:cdk:enable-path-metadata": True}


def shared_stack_name(prefix: str) -> str:
    return f"{prefix}-shared"


def task_definitions_stack_name(prefix: str, bucket: int) -> str:
    return f"{prefix}-task-definitions-{shard_label(bucket)}"


@dataclass(frozen=True)
class HubStacks:
    shared: HubSharedStack
    task_definitions: dict[int, HubTaskDefinitionsStack]  # bucket -> its stack (non-empty buckets only)


def create_app(*, context: Mapping[str, Any], outdir: str | None = None, cfn_validation: bool = False) -> App:
    """No version reporting: the CDKMetadata resource would make templates vary with the library set.

    `cfn_validation` runs aws-cdk-lib's built-in CloudFormation validation engine on the templates
    (cdk.json's `@aws-cdk/core:validateAgainstDefaultRules` makes its errors fail synth); it changes
    no template byte. Off, synth costs a third (docs/design.md lists what the project checks instead).
    """
    return App(
        outdir=outdir,
        analytics_reporting=False,
        post_cli_context={**CLI_DEFAULTS, **context},
        builtin_cloud_formation_validation=cfn_validation,
    )


def build_stacks(app: App, *, settings: HubSettings, inputs: HubInputs) -> HubStacks:
    catalog, prefix = inputs.catalog, settings.prefix
    shared = HubSharedStack(
        app,
        shared_stack_name(prefix),
        catalog=catalog,
        findings=inputs.findings,
        prefix=prefix,
        images=settings.images,
        log_retention_days=settings.log_retention_days,
        vpc_id=settings.network.vpc_id if settings.network else None,
        hub_security_group_id=settings.network.hub_security_group_id if settings.network else None,
        efs_file_system_id=settings.efs_file_system_id,
        efs_access_point_id=settings.efs_access_point_id,
        efs_subnet_ids=settings.efs_subnet_ids,
        cluster_name=settings.cluster_name,
        create_cluster=settings.create_cluster,
    )
    task_definitions: dict[int, HubTaskDefinitionsStack] = {}
    for bucket, services in shards(catalog.services).items():
        stack = HubTaskDefinitionsStack(
            app,
            task_definitions_stack_name(prefix, bucket),
            services=services,
            sizes=catalog.sizes,
            findings=inputs.findings,
            prefix=prefix,
            images=settings.images,
            bucket=shard_label(bucket),
            home=shared.home,
        )
        stack.add_stack_dependency(shared, "the task definitions name the shared roles and log group")
        task_definitions[bucket] = stack
    return HubStacks(shared=shared, task_definitions=task_definitions)

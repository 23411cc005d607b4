"""The task definitions `<prefix>-<service>-<size>` of a set of services, one per size each service offers."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from aws_cdk import Acknowledgment, Validations
from aws_cdk import cloudformation_include as cfn_include
from constructs import Construct, IConstruct

from hubcdk.efs import HubHomeFileSystem
from hubcdk.findings import annotate_findings, open_findings
from hubcdk.task_template import (
    EXECUTION_ROLE_ARN,
    HOME_ACCESS_POINT_ID,
    HOME_FILE_SYSTEM_ID,
    TASK_ROLE_ARN,
    catalog_template,
    logical_id,
)
from hubspec.health.lint import Finding
from hubspec.model import ServiceSpec, SizeSpec
from hubspec.naming import family_name

if TYPE_CHECKING:
    from aws_cdk import aws_ecs as ecs

PATH_METADATA_ENABLE = "aws:cdk:enable-path-metadata"  # aws-cdk-lib's cx_api.PATH_METADATA_ENABLE_CONTEXT

# aws-cdk-lib's built-in template validation (context cfn_validation=true; cdk.json's validateAgainstDefaultRules) fails
# synth on `${NAME}` outside Fn::Sub (rule E1029), a guess that the author forgot Fn::Sub. These task definitions
# never use Fn::Sub: a `${...}` in them is the container's (its shell's, in a health-check command), which
# CloudFormation passes through unchanged, as it must. Acknowledged on these task definitions only, and only
# when one of them holds `${`.
SHELL_VARIABLES = Acknowledgment(
    id="CloudFormation-Validate::E1029",
    reason="these task definitions never use Fn::Sub: ${...} in them is expanded inside the container "
    "(by /bin/sh in a health-check command), not by CloudFormation",
)
# cdk-nag's AwsSolutions pack (run by the tests) flags task definitions with plain environment variables (and
# only those); acknowledged on these task definitions only, only when a service has `environment`.
PLAIN_ENVIRONMENT = Acknowledgment(
    id="AwsSolutions::AwsSolutions-ECS2",
    reason="`environment` holds plain, non-secret settings written in the service file; secrets go through "
    "`secrets` (Secrets Manager / SSM ARNs read by the execution role at start), which the loader keeps apart",
)


class HubTaskDefinitions(cfn_include.CfnInclude):
    """Every size of every given service as one Fargate task definition (family `<prefix>-<service>-<size>`).

    The properties are computed in plain Python (`hubcdk.task_template`, tested without jsii); this
    construct is aws-cdk-lib's `CfnInclude` of them, so each is a real `CfnTaskDefinition`, a child named
    by its logical ID. That ID is the one aws-cdk-lib gave `<service>/<size>/Resource` when these were
    `FargateTaskDefinition`s, so it depends on service and size names only: adding a service or a size
    never renames another. One jsii call for all of them, where `FargateTaskDefinition` and `add_container`
    took about 2.6 ms of jsii work per task definition (docs/design.md, "Synth speed").

    The roles are the shared ones, given as ARNs: the pull rights for a private ECR image, the secret
    reads and the log writes are granted in the shared stack (`HubTaskRoles.grant_task_start`), so nothing
    here adds to a role. `images` overrides a service's main image (the reference stays exactly as written).
    A service's open lint findings are annotated at `<this construct>/<service>`, the path `cdk synth` prints
    with them.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        services: Sequence[ServiceSpec],
        sizes: Mapping[str, SizeSpec],
        prefix: str,
        task_role_arn: str,
        execution_role_arn: str,
        log_group_name: str,
        images: Mapping[str, str] | None = None,
        findings: Sequence[Finding] = (),
        home: HubHomeFileSystem | None = None,
    ) -> None:
        if not services:
            raise ValueError(f"HubTaskDefinitions {construct_id!r} needs at least one service")
        base = scope_path(scope)
        template = catalog_template(
            services,
            sizes,
            prefix=prefix,
            images=images or {},
            log_group_name=log_group_name,
            path=f"{base}/{construct_id}" if base is not None else None,
        )
        parameters = {TASK_ROLE_ARN: task_role_arn, EXECUTION_ROLE_ARN: execution_role_arn}
        if HOME_FILE_SYSTEM_ID in template["Parameters"]:
            if home is None:
                with_efs = [s.name for s in services if s.efs is not None]
                raise ValueError(f"services {with_efs} declare efs: pass home=HubHomeFileSystem(...)")
            parameters[HOME_FILE_SYSTEM_ID] = home.file_system_id
        if HOME_ACCESS_POINT_ID in template["Parameters"]:
            if home is None or home.shared_access_point_id is None:
                raise ValueError("a service has a shared EFS home: the file system needs its shared access point")
            parameters[HOME_ACCESS_POINT_ID] = home.shared_access_point_id
        with template_file(template) as path:
            super().__init__(scope, construct_id, template_file=path, parameters=parameters)
        self.families = {s.name: {size: family_name(prefix, s.name, size) for size in s.sizes} for s in services}
        self.logical_ids = {
            s.name: {size: logical_id([s.name, size, "Resource"]) for size in s.sizes} for s in services
        }
        if any(c.environment for s in services for c in s.containers):
            Validations.of(self).acknowledge(PLAIN_ENVIRONMENT)
        if "${" in json.dumps(template["Resources"]):
            Validations.of(self).acknowledge(SHELL_VARIABLES)
        for spec in services:
            own = open_findings(f for f in findings if f.service == spec.name)
            if own:  # an anchor for the annotations only: most services have none, and cost no construct
                annotate_findings(Construct(self, spec.name), own)

    def task_definition(self, service: str, size: str) -> ecs.CfnTaskDefinition:
        """The included `CfnTaskDefinition` of one service and size."""
        from aws_cdk import aws_ecs as ecs  # here: importing aws_ecs costs about 0.15 s, and synth needs none of it

        resource = self.get_resource(self.logical_ids[service][size])
        assert isinstance(resource, ecs.CfnTaskDefinition)
        return resource


def scope_path(scope: IConstruct) -> str | None:
    """The scope's construct path when path metadata is on (the CLI's default; `create_app` sets it too)."""
    node = scope.node
    return node.path if node.try_get_context(PATH_METADATA_ENABLE) else None


@contextlib.contextmanager
def template_file(template: dict) -> Iterator[str]:
    """`CfnInclude` reads a file: the template goes to a private temporary file, removed once it is read."""
    fd, path = tempfile.mkstemp(prefix="hubcdk-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as out:
            out.write(json.dumps(template))
        yield path
    finally:
        os.unlink(path)

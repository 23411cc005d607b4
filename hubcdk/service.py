"""One Fargate task definition per size a service offers."""

from __future__ import annotations

import functools
import json
import os
import tempfile
from collections.abc import Sequence

from aws_cdk import Acknowledgment, Validations
from aws_cdk import cloudformation_include as cfn_include
from constructs import Construct, IConstruct

from hubcdk.efs import HubHomeFileSystem
from hubcdk.findings import annotate_findings
from hubcdk.task_template import (
    EXECUTION_ROLE_ARN,
    HOME_ACCESS_POINT_ID,
    HOME_FILE_SYSTEM_ID,
    TASK_ROLE_ARN,
    logical_id,
    service_template,
)
from hubspec.lint import Finding
from hubspec.model import ServiceSpec, SizeSpec
from hubspec.naming import family_name
from hubspec.render import render_container_check

INCLUDE_ID = "TaskDefinitions"
PATH_METADATA_ENABLE = "aws:cdk:enable-path-metadata"  # aws-cdk-lib's cx_api.PATH_METADATA_ENABLE_CONTEXT

# aws-cdk-lib's built-in template validation (context cfn_validation=true; cdk.json's validateAgainstDefaultRules) fails
# synth on `${NAME}` outside Fn::Sub (rule E1029), a guess that the author forgot Fn::Sub. In a health-check
# command it is the container's shell variable, which CloudFormation passes through unchanged, as it must.
# Acknowledged on these task definitions only, and only when the command holds `${`; images cannot (schema).
SHELL_VARIABLES = Acknowledgment(
    id="CloudFormation-Validate::E1029",
    reason="${...} in the health-check command is expanded by /bin/sh inside the container, not by CloudFormation",
)
# cdk-nag's AwsSolutions pack (run by the tests) flags plain environment variables; acknowledged on this
# service's task definitions only, only when one of its containers has `environment`.
PLAIN_ENVIRONMENT = Acknowledgment(
    id="AwsSolutions::AwsSolutions-ECS2",
    reason="`environment` holds plain, non-secret settings written in the service file; secrets go through "
    "`secrets` (Secrets Manager / SSM ARNs read by the execution role at start), which the loader keeps apart",
)


class HubServiceTaskDefinitions(Construct):
    """The task definitions `<prefix>-<service>-<size>` of one service.

    The properties are computed in plain Python (`hubcdk.task_template`, tested without jsii) and come in
    through aws-cdk-lib's `CfnInclude` (construct id `TaskDefinitions`): each size is a real
    `CfnTaskDefinition`, under the logical ID aws-cdk-lib gave `<service>/<size>/Resource` when these were
    `FargateTaskDefinition`s, with the same bytes. One jsii call per service instead of about twenty-five
    per task definition (docs/design.md, "Synth speed").

    The roles are the shared ones, given as ARNs: the pull rights for a private ECR image, the secret
    reads and the log writes are granted in the shared stack (`HubTaskRoles.grant_task_start`), so nothing
    here adds to a role. The image reference stays exactly as written.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: ServiceSpec,
        sizes: Sequence[SizeSpec],
        prefix: str,
        image: str,
        task_role_arn: str,
        execution_role_arn: str,
        log_group_name: str,
        findings: Sequence[Finding] = (),
        home: HubHomeFileSystem | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        parameters = {TASK_ROLE_ARN: task_role_arn, EXECUTION_ROLE_ARN: execution_role_arn}
        if spec.efs is not None:
            if home is None:
                raise ValueError(f"service {spec.name!r} declares efs: pass home=HubHomeFileSystem(...)")
            parameters[HOME_FILE_SYSTEM_ID] = home.file_system_id
            if not spec.efs.per_user:
                if home.shared_access_point_id is None:
                    raise ValueError(
                        f"service {spec.name!r} has a shared EFS home: the file system has no access point"
                    )
                parameters[HOME_ACCESS_POINT_ID] = home.shared_access_point_id
        base = scope_path(scope)
        template = service_template(
            spec,
            sizes,
            prefix=prefix,
            image=image,
            log_group_name=log_group_name,
            path=f"{base}/{construct_id}/{INCLUDE_ID}" if base is not None else None,
        )
        self.include = include_template(self, INCLUDE_ID, template, parameters)
        self.families = {size.name: family_name(prefix, spec.name, size.name) for size in sizes}
        self.logical_ids = {size.name: logical_id([spec.name, size.name, "Resource"]) for size in sizes}
        if any(c.environment for c in spec.containers):
            Validations.of(self.include).acknowledge(PLAIN_ENVIRONMENT)
        rendered = [r for r in (render_container_check(c) for c in spec.containers) if r is not None]
        if any("${" in part for r in rendered for part in r.command):
            Validations.of(self.include).acknowledge(SHELL_VARIABLES)
        annotate_findings(self, findings)


@functools.lru_cache(maxsize=64)
def scope_path(scope: IConstruct) -> str | None:
    """The scope's construct path when path metadata is on (the CLI's default; `create_app` sets it too),
    else None. Read once per scope: each read is a jsii call, and a stack holds many services."""
    node = scope.node
    return node.path if node.try_get_context(PATH_METADATA_ENABLE) else None


def include_template(
    scope: Construct, construct_id: str, template: dict, parameters: dict[str, str]
) -> cfn_include.CfnInclude:
    """`CfnInclude` reads a file: the template goes to a private temporary file, removed once it is read."""
    fd, path = tempfile.mkstemp(prefix="hubcdk-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as out:
            out.write(json.dumps(template))
        return cfn_include.CfnInclude(scope, construct_id, template_file=path, parameters=parameters)
    finally:
        os.unlink(path)

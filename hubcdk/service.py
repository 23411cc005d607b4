"""One Fargate task definition per size a service offers."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Acknowledgment, Annotations, Validations
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from hubcdk.containers import (
    ECR_TOKEN_WILDCARD,
    acknowledge_environment,
    acknowledge_wildcard,
    add_containers,
    grant_exec,
    runtime_platform,
)
from hubcdk.findings import annotate_findings
from hubspec.images import ecr_repository
from hubspec.lint import Finding
from hubspec.model import ServiceSpec, SizeSpec
from hubspec.naming import family_name
from hubspec.render import render_container_check

# aws-cdk-lib's built-in template validation (cdk.json: @aws-cdk/core:validateAgainstDefaultRules) fails
# synth on `${NAME}` outside Fn::Sub (rule E1029), a guess that the author forgot Fn::Sub. In a health-check
# command it is the container's shell variable, which CloudFormation passes through unchanged, as it must.
# Acknowledged on these task definitions only, and only when the command holds `${`; images cannot (schema).
SHELL_VARIABLES = Acknowledgment(
    id="CloudFormation-Validate::E1029",
    reason="${...} in the health-check command is expanded by /bin/sh inside the container, not by CloudFormation",
)


class HubServiceTaskDefinitions(Construct):
    """The task definitions `<prefix>-<service>-<size>` of one service.

    Each construct id is the size name, so logical IDs depend on service and
    size names only: adding or reordering sizes never renames a resource.

    An image in a private ECR repository gives the shared execution role pull
    rights on that repository (and ecr:GetAuthorizationToken, which has no
    resource); the image reference itself stays exactly as written.

    Only the service `port` is mapped. A `health_check_port` gets no mapping:
    on awsvpc the probe runs inside the task and reaches it on 127.0.0.1, and a
    mapping would only expose the side port on the task's network interface.
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
        task_role: iam.IRole,
        execution_role: iam.IRole,
        log_group: logs.ILogGroup,
        findings: Sequence[Finding] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        rendered = [r for r in (render_container_check(c) for c in spec.containers) if r is not None]
        # The main image may be overridden per environment (`-c images=...`); sidecars use theirs as written.
        images = {c.name: image if c.name == spec.name else c.image for c in spec.containers}
        for name, reference in images.items():
            repository = ecr_repository(reference)
            if repository is None:
                continue
            ecr.Repository.from_repository_attributes(
                self,
                "Repository" if name == spec.name else f"Repository-{name}",
                repository_arn=repository.arn,
                repository_name=repository.name,
            ).grant_pull(execution_role)
            # aws-cdk-lib warns that an ECR image from_registry needs a policy: the grant above is that policy.
            Annotations.of(self).acknowledge_warning(
                "@aws-cdk/aws-ecs:ecrImageRequiresPolicy", "pull rights granted to the execution role"
            )
            acknowledge_wildcard(execution_role, ECR_TOKEN_WILDCARD)
        container_images = {name: ecs.ContainerImage.from_registry(reference) for name, reference in images.items()}
        linux_parameters = None
        if spec.exec_enabled:
            linux_parameters = ecs.LinuxParameters(self, "ExecInit", init_process_enabled=True)
            grant_exec(task_role)
        self.task_definitions: dict[str, ecs.FargateTaskDefinition] = {}
        self.families: dict[str, str] = {}  # size name -> family
        for size in sizes:
            family = family_name(prefix, spec.name, size.name)
            task_definition = ecs.FargateTaskDefinition(
                self,
                size.name,
                family=family,
                cpu=size.cpu,
                memory_limit_mib=size.memory,
                task_role=task_role,
                execution_role=execution_role,
                runtime_platform=runtime_platform(spec),
                ephemeral_storage_gib=spec.ephemeral_storage_gib,
            )
            add_containers(
                task_definition,
                spec=spec,
                images=container_images,
                log_group=log_group,
                linux_parameters=linux_parameters,
            )
            acknowledge_environment(task_definition, spec)
            if any("${" in part for r in rendered for part in r.command):
                Validations.of(task_definition).acknowledge(SHELL_VARIABLES)
            self.task_definitions[size.name] = task_definition
            self.families[size.name] = family
        annotate_findings(self, findings)

"""One Fargate task definition per size a service offers."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Acknowledgment, Annotations, Validations
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from hubcdk.efs import HubHomeFileSystem
from hubcdk.findings import annotate_findings
from hubcdk.health import ecs_health_check
from hubspec.images import ecr_repository
from hubspec.lint import Finding
from hubspec.model import ServiceSpec, SizeSpec
from hubspec.naming import family_name
from hubspec.render import render_health_check

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
        home: HubHomeFileSystem | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        rendered = render_health_check(spec)
        health_check = ecs_health_check(rendered)
        container_image = ecs.ContainerImage.from_registry(image)
        repository = ecr_repository(image)
        if repository is not None:
            ecr.Repository.from_repository_attributes(
                self, "Repository", repository_arn=repository.arn, repository_name=repository.name
            ).grant_pull(execution_role)
            # aws-cdk-lib warns that an ECR image from_registry needs a policy: the grant above is that policy.
            Annotations.of(self).acknowledge_warning(
                "@aws-cdk/aws-ecs:ecrImageRequiresPolicy", "pull rights granted to the execution role"
            )
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
            )
            container = task_definition.add_container(
                "Server",
                container_name=spec.name,
                image=container_image,
                essential=True,
                port_mappings=[ecs.PortMapping(container_port=spec.port, protocol=ecs.Protocol.TCP)],
                health_check=health_check,
                logging=ecs.LogDriver.aws_logs(stream_prefix=spec.name, log_group=log_group),
            )
            if spec.efs is not None:
                if home is None:
                    raise ValueError(f"service {spec.name!r} declares efs: pass home=HubHomeFileSystem(...)")
                home.attach(task_definition, container, spec.efs)
            if any("${" in part for part in rendered.command):
                Validations.of(task_definition).acknowledge(SHELL_VARIABLES)
            self.task_definitions[size.name] = task_definition
            self.families[size.name] = family
        annotate_findings(self, findings)

"""One Fargate task definition per size a service offers."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Acknowledgment, Annotations, Aws, Validations
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from constructs import Construct

from hubcdk.containers import acknowledge_environment, add_containers, container_health_checks, runtime_platform
from hubcdk.efs import HubHomeFileSystem
from hubcdk.findings import annotate_findings
from hubspec.images import ecr_repository
from hubspec.lint import Finding
from hubspec.model import ServiceSpec, SizeSpec
from hubspec.naming import family_name
from hubspec.render import render_container_check

# aws-cdk-lib's built-in template validation (context cfn_validation=true; cdk.json's validateAgainstDefaultRules) fails
# synth on `${NAME}` outside Fn::Sub (rule E1029), a guess that the author forgot Fn::Sub. In a health-check
# command it is the container's shell variable, which CloudFormation passes through unchanged, as it must.
# Acknowledged on these task definitions only, and only when the command holds `${`; images cannot (schema).
SHELL_VARIABLES = Acknowledgment(
    id="CloudFormation-Validate::E1029",
    reason="${...} in the health-check command is expanded by /bin/sh inside the container, not by CloudFormation",
)


def container_images(spec: ServiceSpec, image: str) -> dict[str, str]:
    """Container name -> image reference: the main container's `image` (after any per-environment
    override), each sidecar's as written."""
    return {c.name: image if c.name == spec.name else c.image for c in spec.containers}


class HubServiceTaskDefinitions(Construct):
    """The task definitions `<prefix>-<service>-<size>` of one service.

    Each construct id is the size name, so logical IDs depend on service and
    size names only: adding or reordering sizes never renames a resource.

    The roles are the shared ones and may be imported by name: the pull rights for a
    private ECR image and the log writes are granted in the shared stack
    (`HubTaskRoles.grant_task_start`), so nothing here adds to a role. The image
    reference stays exactly as written.

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
        log_group_name: str,
        findings: Sequence[Finding] = (),
        home: HubHomeFileSystem | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        rendered = [r for r in (render_container_check(c) for c in spec.containers) if r is not None]
        # The main image may be overridden per environment (`-c images=...`); sidecars use theirs as written.
        images = container_images(spec, image)
        if any(ecr_repository(reference) is not None for reference in images.values()):
            # aws-cdk-lib warns that an ECR image from_registry needs a policy: HubTaskRoles.grant_task_start is it.
            Annotations.of(self).acknowledge_warning(
                "@aws-cdk/aws-ecs:ecrImageRequiresPolicy", "pull rights granted to the shared execution role"
            )
        # awslogs, rendered as aws-cdk-lib's LogDriver.aws_logs renders it, but without its grant to the
        # execution role (made once in the shared stack, where the role and the group are).
        logging = ecs.GenericLogDriver(
            log_driver="awslogs",
            options={"awslogs-group": log_group_name, "awslogs-stream-prefix": spec.name, "awslogs-region": Aws.REGION},
        )
        linux_parameters = None
        if spec.exec_enabled:  # the task role's ssmmessages rights: HubTaskRoles.grant_task_start
            linux_parameters = ecs.LinuxParameters(self, "ExecInit", init_process_enabled=True)
        # Made once and shared by every size (plain data; each costs jsii calls).
        registry_images = {name: ecs.ContainerImage.from_registry(reference) for name, reference in images.items()}
        health_checks = container_health_checks(spec)
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
            containers = add_containers(
                task_definition,
                spec=spec,
                images=registry_images,
                health_checks=health_checks,
                logging=logging,
                linux_parameters=linux_parameters,
            )
            if spec.efs is not None:
                if home is None:
                    raise ValueError(f"service {spec.name!r} declares efs: pass home=HubHomeFileSystem(...)")
                home.attach(task_definition, containers[spec.name], spec.efs)
            acknowledge_environment(task_definition, spec)
            if any("${" in part for r in rendered for part in r.command):
                Validations.of(task_definition).acknowledge(SHELL_VARIABLES)
            self.task_definitions[size.name] = task_definition
            self.families[size.name] = family
        annotate_findings(self, findings)

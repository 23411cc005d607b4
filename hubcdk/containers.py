"""Every container of a service's task: the server, then its sidecars, each with its health check,
variables, secrets and dependencies; and the grants those need on the shared roles.

Secrets are `ecs.Secret`s built from the ARNs as written (no lookup, no import by name): aws-cdk-lib's
own `Secret.from_secrets_manager` / `from_ssm_parameter` would grant more than ECS needs
(DescribeSecret; GetParameter, GetParameterHistory, DescribeParameters) and rebuild an SSM ARN in the
stack's own region and account. `ArnSecret` grants the execution role exactly one read action on
exactly the secret's ARN (a `:json-key:stage:id` suffix stripped: IAM knows the secret, not the key).
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs

from hubcdk.health import ecs_health_check
from hubspec.model import ContainerSpec, ServiceSpec
from hubspec.render import render_container_check
from hubspec.secrets import secret_ref

# What ECS Exec needs on the task role (the SSM agent in the task opens these channels); these actions
# have no resource type, so `*` is the only resource they take.
EXEC_ACTIONS = (
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
)

_CONDITIONS = {
    "START": ecs.ContainerDependencyCondition.START,
    "COMPLETE": ecs.ContainerDependencyCondition.COMPLETE,
    "SUCCESS": ecs.ContainerDependencyCondition.SUCCESS,
    "HEALTHY": ecs.ContainerDependencyCondition.HEALTHY,
}
_ARCHITECTURES = {"X86_64": ecs.CpuArchitecture.X86_64, "ARM64": ecs.CpuArchitecture.ARM64}


class ArnSecret(ecs.Secret):
    """A container secret from its ARN, granting `secretsmanager:GetSecretValue` or `ssm:GetParameters`
    on that one resource (aws-cdk-lib calls `grant_read` with the task's execution role)."""

    def __init__(self, value_from: str) -> None:
        super().__init__()
        self._ref = secret_ref(value_from)

    @property
    def arn(self) -> str:
        return self._ref.value_from

    @property
    def has_field(self) -> bool | None:
        return self._ref.has_field

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=[self._ref.action], resource_arns=[self._ref.resource]
        )


def runtime_platform(spec: ServiceSpec) -> ecs.RuntimePlatform | None:
    """Linux on the declared architecture; None when the file does not say (Fargate's default, X86_64)."""
    if spec.cpu_architecture is None:
        return None
    return ecs.RuntimePlatform(
        cpu_architecture=_ARCHITECTURES[spec.cpu_architecture],
        operating_system_family=ecs.OperatingSystemFamily.LINUX,
    )


def add_containers(
    task_definition: ecs.FargateTaskDefinition,
    *,
    spec: ServiceSpec,
    images: Mapping[str, ecs.ContainerImage],
    log_group: logs.ILogGroup,
    linux_parameters: ecs.LinuxParameters | None,
) -> dict[str, ecs.ContainerDefinition]:
    """The server (construct id `Server`, as before sidecars existed) and each sidecar (`Sidecar-<name>`),
    in file order, then their `dependsOn`. Only the server's `port` is mapped: sidecars share the task's
    127.0.0.1 and the security group, not a mapping, decides who reaches them."""
    added: dict[str, ecs.ContainerDefinition] = {}
    for container in spec.containers:
        is_main = container.name == spec.name
        added[container.name] = task_definition.add_container(
            "Server" if is_main else f"Sidecar-{container.name}",
            container_name=container.name,
            image=images[container.name],
            essential=container.essential,
            port_mappings=[ecs.PortMapping(container_port=spec.port, protocol=ecs.Protocol.TCP)] if is_main else None,
            health_check=_health_check(container),
            environment=dict(container.environment) or None,
            secrets={name: ArnSecret(arn) for name, arn in container.secrets.items()} or None,
            stop_timeout=Duration.seconds(spec.stop_timeout) if spec.stop_timeout is not None else None,
            linux_parameters=linux_parameters,
            logging=ecs.LogDriver.aws_logs(stream_prefix=spec.name, log_group=log_group),
        )
    for container in spec.containers:
        for name, condition in container.depends_on.items():
            added[container.name].add_container_dependencies(
                ecs.ContainerDependency(container=added[name], condition=_CONDITIONS[condition])
            )
    return added


def _health_check(container: ContainerSpec) -> ecs.HealthCheck | None:
    rendered = render_container_check(container)
    return ecs_health_check(rendered) if rendered is not None else None


def grant_exec(task_role: iam.IRole) -> None:
    """ECS Exec's four ssmmessages actions on the shared task role (a repeated grant adds nothing)."""
    task_role.add_to_principal_policy(iam.PolicyStatement(actions=list(EXEC_ACTIONS), resources=["*"]))

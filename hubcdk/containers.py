"""Every container of a service's task: the server, then its sidecars, each with its health check,
variables, secrets and dependencies; and the grants those need on the shared roles.

Secrets are `ecs.Secret`s built from the ARNs as written (no lookup, no import by name): aws-cdk-lib's
own `Secret.from_secrets_manager` / `from_ssm_parameter` would grant more than ECS needs
(DescribeSecret; GetParameter, GetParameterHistory, DescribeParameters) and rebuild an SSM ARN in the
stack's own region and account. `grant_secret_reads` gives the execution role exactly one read action
on exactly the secret's ARN (a `:json-key:stage:id` suffix stripped: IAM knows the secret, not the key),
in the shared stack where the role is; `ArnSecret` itself grants nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from aws_cdk import Acknowledgment, Duration, Validations
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam

from hubcdk.health import ecs_health_check
from hubspec.model import ServiceSpec
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
        """No grant here: the task definition's execution role is the shared one, imported by name in a
        task-definition stack; `grant_secret_reads` gives it this read once, in the shared stack."""
        return iam.Grant.drop(grantee, f"read of {self._ref.resource}: granted in the shared stack")


def grant_secret_reads(execution_role: iam.IRole, secrets: Iterable[str]) -> None:
    """Exactly one read action on exactly each secret's resource (the ARN without a `:json-key:...` suffix)."""
    refs = {(ref.action, ref.resource) for ref in (secret_ref(value) for value in secrets)}
    for action, resource in sorted(refs):
        execution_role.add_to_principal_policy(iam.PolicyStatement(actions=[action], resources=[resource]))


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
    health_checks: Mapping[str, ecs.HealthCheck | None],
    logging: ecs.LogDriver,
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
            health_check=health_checks[container.name],
            environment=dict(container.environment) or None,
            secrets={name: ArnSecret(arn) for name, arn in container.secrets.items()} or None,
            stop_timeout=Duration.seconds(spec.stop_timeout) if spec.stop_timeout is not None else None,
            linux_parameters=linux_parameters,
            logging=logging,
        )
    for container in spec.containers:
        for name, condition in container.depends_on.items():
            added[container.name].add_container_dependencies(
                ecs.ContainerDependency(container=added[name], condition=_CONDITIONS[condition])
            )
    return added


def container_health_checks(spec: ServiceSpec) -> dict[str, ecs.HealthCheck | None]:
    """Container name -> its rendered ECS health check (None without one). Made once per service and shared by
    its sizes: a HealthCheck is plain data, and each costs several jsii calls (about a quarter of synth at scale)."""
    out: dict[str, ecs.HealthCheck | None] = {}
    for container in spec.containers:
        rendered = render_container_check(container)
        out[container.name] = ecs_health_check(rendered) if rendered is not None else None
    return out


# cdk-nag's AwsSolutions pack (run by the tests) flags these; each is acknowledged where it arises, on the
# one construct it concerns, only when the service file asks for what causes it.
PLAIN_ENVIRONMENT = Acknowledgment(
    id="AwsSolutions::AwsSolutions-ECS2",
    reason="`environment` holds plain, non-secret settings written in the service file; secrets go through "
    "`secrets` (Secrets Manager / SSM ARNs read by the execution role at start), which the loader keeps apart",
)
EXEC_WILDCARD = Acknowledgment(
    id="AwsSolutions::AwsSolutions-IAM5[Resource::*]",
    reason="ECS Exec: the ssmmessages channel actions have no resource type, so `*` is the only resource they take",
)
ECR_TOKEN_WILDCARD = Acknowledgment(
    id="AwsSolutions::AwsSolutions-IAM5[Resource::*]",
    reason="ecr:GetAuthorizationToken has no resource type (`*` only); the pull actions are on the repositories",
)


def acknowledge_environment(task_definition: ecs.FargateTaskDefinition, spec: ServiceSpec) -> None:
    """AwsSolutions-ECS2, on this task definition only, when one of its containers has `environment`."""
    if any(c.environment for c in spec.containers):
        Validations.of(task_definition).acknowledge(PLAIN_ENVIRONMENT)


def acknowledge_wildcard(role: iam.IRole, acknowledgment: Acknowledgment) -> None:
    """An IAM5 `Resource::*` finding, on the role's default policy only (not the role, not the stack)."""
    policy = role.node.try_find_child("DefaultPolicy")
    if policy is not None:
        Validations.of(policy).acknowledge(acknowledgment)


def grant_exec(task_role: iam.IRole) -> None:
    """ECS Exec's four ssmmessages actions on the shared task role (a repeated grant adds nothing)."""
    task_role.add_to_principal_policy(iam.PolicyStatement(actions=list(EXEC_ACTIONS), resources=["*"]))
    acknowledge_wildcard(task_role, EXEC_WILDCARD)

"""The task definitions of a catalog as a CloudFormation template fragment, computed in plain Python.

`catalog_template()` returns `{"Parameters": ..., "Resources": ...}`: one `AWS::ECS::TaskDefinition` per
service and size, under the logical ID aws-cdk-lib gives a resource at `<service>/<size>/Resource`
(`logical_id`, checked against aws-cdk-lib's own in the tests). The properties are the ones
`FargateTaskDefinition` + `add_container` rendered for the same service files before this module replaced
them (compared byte for byte on every fixture catalog at the switch; the JSON snapshots and the template
tests lock them since). What only the stack knows, the fragment takes as parameters: the two role ARNs
and, for EFS homes, the file system and shared access point ids. `HubTaskDefinitions` binds them and
brings the fragment in with aws-cdk-lib's `CfnInclude`, which makes each resource a real
`CfnTaskDefinition` (cdk-nag, validations and `Template` assertions see it as they saw the L2's).
Nothing here imports aws-cdk-lib, so it is tested without jsii or Node.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

from hubspec.model import HOME_VOLUME, ContainerSpec, ServiceSpec, SizeSpec
from hubspec.naming import family_name
from hubspec.render import RenderedHealthCheck, render_container_check

TASK_ROLE_ARN = "TaskRoleArn"
EXECUTION_ROLE_ARN = "ExecutionRoleArn"
HOME_FILE_SYSTEM_ID = "HomeFileSystemId"
HOME_ACCESS_POINT_ID = "HomeAccessPointId"
PARAMETERS = (TASK_ROLE_ARN, EXECUTION_ROLE_ARN, HOME_FILE_SYSTEM_ID, HOME_ACCESS_POINT_ID)

REGION = {"Ref": "AWS::Region"}
PATH_METADATA_KEY = "aws:cdk:path"

# aws-cdk-lib's logical IDs (core/lib/private/uniqueid.ts): path components below the stack, "Default"
# dropped; the human part leaves out "Resource" and a component the previous one ends with, keeps only
# letters and digits and is cut at 240 characters; then 8 upper-case hex digits of md5("a/b/c").
_HIDDEN_ID = "Default"
_HIDDEN_FROM_HUMAN_ID = "Resource"
_MAX_HUMAN_LEN = 240
_MAX_ID_LEN = 255
_NON_ALPHANUMERIC = re.compile(r"[^A-Za-z0-9]")


def logical_id(components: Sequence[str]) -> str:
    """The logical ID aws-cdk-lib allocates to a resource at this path (below its stack)."""
    path = [c for c in components if c != _HIDDEN_ID]
    if not path:
        raise ValueError("a logical ID needs at least one path component")
    if len(path) == 1:
        candidate = _NON_ALPHANUMERIC.sub("", path[0])
        if len(candidate) <= _MAX_ID_LEN:
            return candidate
    digest = hashlib.md5("/".join(path).encode(), usedforsecurity=False).hexdigest()[:8].upper()
    human: list[str] = []
    for component in path:
        if not human or not human[-1].endswith(component):
            human.append(component)
    text = "".join(_NON_ALPHANUMERIC.sub("", c) for c in human if c != _HIDDEN_FROM_HUMAN_ID)
    return text[:_MAX_HUMAN_LEN] + digest


def container_images(spec: ServiceSpec, image: str) -> dict[str, str]:
    """Container name -> image reference: the main container's `image` (after any per-environment
    override), each sidecar's as written."""
    return {c.name: image if c.name == spec.name else c.image for c in spec.containers}


def ecs_health_check(rendered: RenderedHealthCheck) -> dict[str, Any]:
    """The container's `HealthCheck`, command and timings exactly as `hubspec.render` made them.

    Every rendered command is `CMD-SHELL <line>` or `CMD <prog> ...`; anything else (a one-element list,
    which ECS and aws-cdk-lib would read as a shell line, or another first word) is refused here.
    """
    if len(rendered.command) < 2 or rendered.command[0] not in ("CMD", "CMD-SHELL"):
        raise ValueError(f"health-check command must start with CMD or CMD-SHELL and an argument: {rendered.command!r}")
    return {key[0].upper() + key[1:]: value for key, value in rendered.to_ecs().items()}


def _pairs(values: Mapping[str, str], value_key: str) -> list[dict[str, str]]:
    return [{"Name": name, value_key: value} for name, value in values.items()]


def container_definition(
    spec: ServiceSpec, container: ContainerSpec, *, image: str, log_group_name: str
) -> dict[str, Any]:
    """One container, as aws-cdk-lib's `ContainerDefinition` renders it for these settings.

    Only the server's `port` is mapped: sidecars share the task's 127.0.0.1, and the security group, not
    a mapping, decides who reaches them. A `health_check_port` gets no mapping either (the probe runs
    inside the task). `awslogs` without a grant: the shared stack gives the execution role its log writes.
    """
    out: dict[str, Any] = {"Name": container.name, "Image": image, "Essential": container.essential}
    if container.name == spec.name:
        out["PortMappings"] = [{"ContainerPort": spec.port, "Protocol": "tcp"}]
    rendered = render_container_check(container)
    if rendered is not None:
        out["HealthCheck"] = ecs_health_check(rendered)
    if container.environment:
        out["Environment"] = _pairs(container.environment, "Value")
    if container.secrets:  # the ARNs as written; the shared stack grants exactly one read on each
        out["Secrets"] = _pairs(container.secrets, "ValueFrom")
    if spec.stop_timeout is not None:
        out["StopTimeout"] = spec.stop_timeout
    if spec.exec_enabled:  # `Capabilities: {}` is what aws-cdk-lib's LinuxParameters renders; kept byte for byte
        out["LinuxParameters"] = {"Capabilities": {}, "InitProcessEnabled": True}
    out["LogConfiguration"] = {
        "LogDriver": "awslogs",
        "Options": {"awslogs-group": log_group_name, "awslogs-stream-prefix": spec.name, "awslogs-region": REGION},
    }
    if spec.efs is not None and container.name == spec.name:
        out["MountPoints"] = [{"ContainerPath": spec.efs.mount_path, "ReadOnly": False, "SourceVolume": HOME_VOLUME}]
    if container.depends_on:
        out["DependsOn"] = [{"ContainerName": name, "Condition": cond} for name, cond in container.depends_on.items()]
    return out


def home_volume(spec: ServiceSpec) -> dict[str, Any]:
    """The `home` volume: transit encryption and IAM authorization; the shared access point for a shared
    home, none for a per-user one (the spawner's per-user copy of the family names the user's)."""
    assert spec.efs is not None
    authorization: dict[str, Any] = {"IAM": "ENABLED"}
    if not spec.efs.per_user:
        authorization["AccessPointId"] = {"Ref": HOME_ACCESS_POINT_ID}
    return {
        "Name": HOME_VOLUME,
        "EFSVolumeConfiguration": {
            "FilesystemId": {"Ref": HOME_FILE_SYSTEM_ID},
            "TransitEncryption": "ENABLED",
            "AuthorizationConfig": authorization,
        },
    }


def task_definition(
    spec: ServiceSpec, size: SizeSpec, *, prefix: str, images: Mapping[str, str], log_group_name: str
) -> dict[str, Any]:
    """The `AWS::ECS::TaskDefinition` of one service and size (Fargate, awsvpc)."""
    properties: dict[str, Any] = {
        "ContainerDefinitions": [
            container_definition(spec, c, image=images[c.name], log_group_name=log_group_name) for c in spec.containers
        ],
        "Cpu": str(size.cpu),
        "ExecutionRoleArn": {"Ref": EXECUTION_ROLE_ARN},
        "Family": family_name(prefix, spec.name, size.name),
        "Memory": str(size.memory),
        "NetworkMode": "awsvpc",
        "RequiresCompatibilities": ["FARGATE"],
        "TaskRoleArn": {"Ref": TASK_ROLE_ARN},
    }
    if spec.ephemeral_storage_gib is not None:
        properties["EphemeralStorage"] = {"SizeInGiB": spec.ephemeral_storage_gib}
    if spec.cpu_architecture is not None:
        properties["RuntimePlatform"] = {"CpuArchitecture": spec.cpu_architecture, "OperatingSystemFamily": "LINUX"}
    if spec.efs is not None:
        properties["Volumes"] = [home_volume(spec)]
    return {"Type": "AWS::ECS::TaskDefinition", "Properties": properties}


def service_template(
    spec: ServiceSpec,
    sizes: Sequence[SizeSpec],
    *,
    prefix: str,
    image: str,
    log_group_name: str,
    path: str | None = None,
) -> dict[str, Any]:
    """Every size's task definition, keyed by the logical ID of `<service>/<size>/Resource`, and the
    parameters they refer to. Logical IDs depend on service and size names only: adding or reordering
    sizes never renames a resource. With `path` (the including construct's path), each resource carries
    `aws:cdk:path` metadata `<path>/<logical ID>`, as `cdk synth` writes for every resource it makes."""
    images = container_images(spec, image)
    resources: dict[str, Any] = {}
    for size in sizes:
        name = logical_id([spec.name, size.name, "Resource"])
        if name in resources:
            raise ValueError(f"service {spec.name!r}: size {size.name!r} is listed twice")
        resources[name] = task_definition(spec, size, prefix=prefix, images=images, log_group_name=log_group_name)
        if path is not None:
            resources[name]["Metadata"] = {PATH_METADATA_KEY: f"{path}/{name}"}
    used = [TASK_ROLE_ARN, EXECUTION_ROLE_ARN]
    if spec.efs is not None:
        used.append(HOME_FILE_SYSTEM_ID)
        if not spec.efs.per_user:
            used.append(HOME_ACCESS_POINT_ID)
    return {"Parameters": {name: {"Type": "String"} for name in used}, "Resources": resources}


def catalog_template(
    services: Sequence[ServiceSpec],
    sizes: Mapping[str, SizeSpec],
    *,
    prefix: str,
    images: Mapping[str, str],
    log_group_name: str,
    path: str | None = None,
) -> dict[str, Any]:
    """`service_template` of each service (main image from `images`, else the file's), in one fragment."""
    parameters: dict[str, Any] = {}
    resources: dict[str, Any] = {}
    for spec in services:
        part = service_template(
            spec,
            [sizes[name] for name in spec.sizes],
            prefix=prefix,
            image=images.get(spec.name, spec.image),
            log_group_name=log_group_name,
            path=path,
        )
        clash = sorted(resources.keys() & part["Resources"].keys())
        if clash:
            raise ValueError(f"service {spec.name!r}: logical IDs {clash} are already taken by another service")
        parameters.update(part["Parameters"])
        resources.update(part["Resources"])
    return {"Parameters": parameters, "Resources": resources}

"""CDK context -> HubSettings, checked before anything is synthesized.

Context comes from cdk.json, then the CDK CLI (`CDK_CONTEXT_JSON`, which
already includes cdk.json and `-c` values), then `python app.py -c KEY=VALUE`.
Reading cdk.json here too gives `python app.py` the same defaults and
feature flags as `cdk synth`, so both produce the same template.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hubspec.loader import SERVICES_DIRNAME, SIZES_FILENAME, image_problem
from hubspec.naming import check_prefix
from stacks.errors import InputErrors

PREFIX = "prefix"
IMAGES = "images"
LOG_RETENTION = "log_retention_days"
SERVICES_DIR = "services_dir"
SIZES_FILE = "sizes_file"
VPC_ID = "vpc_id"
HUB_SECURITY_GROUP_ID = "hub_security_group_id"
CFN_VALIDATION = "cfn_validation"
CLUSTER = "cluster"
CREATE_CLUSTER = "create_cluster"
EFS_FILE_SYSTEM_ID = "efs_file_system_id"
EFS_ACCESS_POINT_ID = "efs_access_point_id"
EFS_SUBNET_IDS = "efs_subnet_ids"
KEYS = (
    PREFIX,
    IMAGES,
    LOG_RETENTION,
    SERVICES_DIR,
    SIZES_FILE,
    VPC_ID,
    HUB_SECURITY_GROUP_ID,
    CFN_VALIDATION,
    EFS_FILE_SYSTEM_ID,
    EFS_ACCESS_POINT_ID,
    EFS_SUBNET_IDS,
    CLUSTER,
    CREATE_CLUSTER,
)

_VPC_ID = re.compile(r"vpc-(?:[0-9a-f]{8}|[0-9a-f]{17})\Z")
_SG_ID = re.compile(r"sg-(?:[0-9a-f]{8}|[0-9a-f]{17})\Z")
_FS_ID = re.compile(r"fs-(?:[0-9a-f]{8}|[0-9a-f]{17})\Z")
_FSAP_ID = re.compile(r"fsap-[0-9a-f]{17}\Z")
_SUBNET_ID = re.compile(r"subnet-(?:[0-9a-f]{8}|[0-9a-f]{17})\Z")
_CLUSTER_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}\Z")  # what ECS accepts as a cluster name

# What CloudWatch Logs accepts as RetentionInDays (hubcdk.logs maps each to aws-cdk-lib's enum).
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)


@dataclass(frozen=True)
class TaskNetwork:
    """Where the hub's tasks run: the task security group is made in this VPC and admits this hub group."""

    vpc_id: str
    hub_security_group_id: str


@dataclass(frozen=True)
class HubSettings:
    prefix: str
    log_retention_days: int
    services_dir: Path
    sizes_file: Path
    images: Mapping[str, str] = field(default_factory=dict)  # service name -> image override
    network: TaskNetwork | None = None  # None: no task security group (the stack as before)
    # aws-cdk-lib's built-in CloudFormation validation engine (docs/design.md: which of its rules the
    # project enforces itself, and where the engine still runs). Off by default: 2/3 of synth time.
    cfn_validation: bool = False
    efs_file_system_id: str | None = None  # None: a catalog with EFS homes gets a file system of its own
    efs_access_point_id: str | None = None  # the shared homes' access point; None: the stack makes one
    # Subnets for the mount targets of the file system the stack makes (one each); () makes none
    efs_subnet_ids: tuple[str, ...] = ()
    cluster: str = ""  # the ECS cluster the hub's policy is scoped to; "" means the prefix
    create_cluster: bool = False  # True: the stack creates that cluster (Fargate and Fargate Spot)

    @property
    def cluster_name(self) -> str:
        return self.cluster or self.prefix


def read_cdk_json_context(cdk_json: Path) -> dict[str, Any]:
    """The `context` object of cdk.json (defaults and feature flags)."""
    try:
        data = json.loads(cdk_json.read_text("utf-8"))
    except (OSError, ValueError) as err:
        raise InputErrors([f"{cdk_json.name}: cannot read: {err}"]) from None
    context = data.get("context", {})
    if not isinstance(context, dict):
        raise InputErrors([f"{cdk_json.name}: context: is not an object"])
    return context


def parse_context_args(pairs: Sequence[str]) -> dict[str, str]:
    """`KEY=VALUE` strings, as `cdk synth -c` takes them (values stay strings, like the CLI's)."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InputErrors([f"context: {pair!r}: expected KEY=VALUE"])
        out[key] = value
    return out


def merge_context(*layers: Mapping[str, Any]) -> dict[str, Any]:
    """Later layers win, key by key."""
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update(layer)
    return merged


def settings_from_context(context: Mapping[str, Any], *, root: Path) -> HubSettings:
    """Validate the hub's context keys; InputErrors lists every problem. Paths are relative to `root`."""
    errors: list[str] = []

    def bad(key: str, message: str) -> None:
        errors.append(f"context: {key}: {message}")

    for key in context:
        near = difflib.get_close_matches(key, KEYS, n=1, cutoff=0.8)
        if near and key not in KEYS:
            bad(key, f"unknown key; did you mean {near[0]!r}?")

    prefix = context.get(PREFIX, "")
    if PREFIX not in context:
        bad(PREFIX, "missing; set it in cdk.json or with -c prefix=NAME")
    elif not isinstance(prefix, str):
        bad(PREFIX, f"{prefix!r} is not a string")
    elif (why := check_prefix(prefix)) is not None:
        bad(PREFIX, why)

    retention = _int_value(context.get(LOG_RETENTION))
    if LOG_RETENTION not in context:
        bad(LOG_RETENTION, "missing; set it in cdk.json or with -c log_retention_days=DAYS")
    elif retention not in LOG_RETENTION_DAYS:
        bad(
            LOG_RETENTION,
            f"{context[LOG_RETENTION]!r} is not a CloudWatch Logs retention in days; allowed: "
            + ", ".join(map(str, LOG_RETENTION_DAYS)),
        )

    images = _images(context.get(IMAGES, {}), bad)
    services_dir = root / str(context.get(SERVICES_DIR, SERVICES_DIRNAME))
    sizes_file = root / str(context.get(SIZES_FILE, SIZES_FILENAME))
    network = _network(context, bad)
    cfn_validation = _bool_value(context.get(CFN_VALIDATION, False))
    if cfn_validation is None:
        bad(CFN_VALIDATION, f"{context[CFN_VALIDATION]!r} is not a boolean; allowed: true or false")
    file_system_id, access_point_id = _efs(context, bad)
    subnet_ids = _efs_subnets(context, bad, network)
    cluster = context.get(CLUSTER, "")
    if CLUSTER in context and (not isinstance(cluster, str) or not _CLUSTER_NAME.match(cluster)):
        bad(CLUSTER, f"{cluster!r} is not an ECS cluster name; allowed: 1-255 letters, digits, '-' and '_'")
    create_cluster = _bool_value(context.get(CREATE_CLUSTER, False))
    if create_cluster is None:
        bad(CREATE_CLUSTER, f"{context[CREATE_CLUSTER]!r} is not a boolean; allowed: true or false")
    if errors or retention is None:
        raise InputErrors(errors)
    return HubSettings(
        prefix=prefix,
        log_retention_days=retention,
        services_dir=services_dir,
        sizes_file=sizes_file,
        images=images,
        network=network,
        cfn_validation=cfn_validation is True,
        efs_file_system_id=file_system_id,
        efs_access_point_id=access_point_id,
        efs_subnet_ids=subnet_ids,
        cluster=cluster if isinstance(cluster, str) else "",
        create_cluster=bool(create_cluster),
    )


def _efs(context: Mapping[str, Any], bad: Callable[[str, str], None]) -> tuple[str | None, str | None]:
    """The EFS ids, used as written (no lookups): `fs-` + 8 or 17 hex, `fsap-` + 17 hex; an access point
    belongs to one file system, so it needs the file system's id too."""
    fs, ap = context.get(EFS_FILE_SYSTEM_ID), context.get(EFS_ACCESS_POINT_ID)
    if fs is not None and not (isinstance(fs, str) and _FS_ID.match(fs)):
        bad(
            EFS_FILE_SYSTEM_ID,
            f"{fs!r} is not an EFS file system id; expected fs- and 8 or 17 hex digits, like 'fs-0123456789abcdef0'",
        )
        fs = None
    if ap is not None and not (isinstance(ap, str) and _FSAP_ID.match(ap)):
        bad(
            EFS_ACCESS_POINT_ID,
            f"{ap!r} is not an EFS access point id; expected fsap- and 17 hex digits, like 'fsap-0123456789abcdef0'",
        )
        ap = None
    elif ap is not None and EFS_FILE_SYSTEM_ID not in context:
        bad(EFS_ACCESS_POINT_ID, f"needs {EFS_FILE_SYSTEM_ID} too: an access point belongs to one file system")
    return fs, ap


def _efs_subnets(
    context: Mapping[str, Any], bad: Callable[[str, str], None], network: TaskNetwork | None
) -> tuple[str, ...]:
    """A JSON list of distinct subnet ids (`subnet-` + 8 or 17 hex) for the mount targets of the file system
    the stack makes; they admit NFS from the task security group, so the network pair must be set."""
    if EFS_SUBNET_IDS not in context:
        return ()
    value = context[EFS_SUBNET_IDS]
    example = '\'["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]\''
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as err:
            bad(EFS_SUBNET_IDS, f"not valid JSON ({err}); expected a list of subnet ids such as {example}")
            return ()
    if not isinstance(value, list) or not value:
        bad(EFS_SUBNET_IDS, f"{value!r} is not a non-empty list of subnet ids; expected a list such as {example}")
        return ()
    ok = True
    for index, subnet in enumerate(value):
        if not isinstance(subnet, str) or not _SUBNET_ID.match(subnet):
            bad(f"{EFS_SUBNET_IDS}[{index}]", f"{subnet!r} is not a subnet id like 'subnet-0123456789abcdef0'")
            ok = False
        elif subnet in value[:index]:
            bad(f"{EFS_SUBNET_IDS}[{index}]", f"{subnet!r} is listed twice; a subnet holds one mount target")
            ok = False
    if EFS_FILE_SYSTEM_ID in context:
        bad(
            EFS_SUBNET_IDS,
            f"not allowed with {EFS_FILE_SYSTEM_ID}: the stack makes mount targets only for the file system it "
            "creates; a file system from context must already have them",
        )
        ok = False
    if network is None and VPC_ID not in context and HUB_SECURITY_GROUP_ID not in context:
        bad(
            EFS_SUBNET_IDS,
            f"needs {VPC_ID} and {HUB_SECURITY_GROUP_ID} too: the mount targets admit NFS only from the task "
            "security group they make",
        )
        ok = False
    return tuple(value) if ok and network is not None else ()


def _network(context: Mapping[str, Any], bad: Callable[[str, str], None]) -> TaskNetwork | None:
    """Both of vpc_id and hub_security_group_id, or neither (then no task security group)."""
    vpc, group = context.get(VPC_ID), context.get(HUB_SECURITY_GROUP_ID)
    if vpc is None and group is None:
        return None
    ok = True
    for key, value, pattern, example in (
        (VPC_ID, vpc, _VPC_ID, "vpc-0123456789abcdef0"),
        (HUB_SECURITY_GROUP_ID, group, _SG_ID, "sg-0123456789abcdef0"),
    ):
        other = HUB_SECURITY_GROUP_ID if key == VPC_ID else VPC_ID
        if value is None:
            bad(key, f"missing; {other} is set, and the task security group needs both")
            ok = False
        elif not isinstance(value, str) or not pattern.match(value):
            bad(key, f"{value!r} is not an id like {example!r}")
            ok = False
    return TaskNetwork(vpc_id=str(vpc), hub_security_group_id=str(group)) if ok else None


def _bool_value(value: Any) -> bool | None:
    """A JSON boolean (cdk.json) or the string "true"/"false" (`-c create_cluster=true`); None otherwise."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def _int_value(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _images(value: Any, bad: Callable[[str, str], None]) -> dict[str, str]:
    """A JSON object (a string from `-c images='{...}'`, or an object in cdk.json)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as err:
            bad(IMAGES, f'not valid JSON ({err}); expected an object such as \'{{"chat": "registry/image:tag"}}\'')
            return {}
    if not isinstance(value, dict):
        bad(IMAGES, f"{value!r} is not an object mapping service name to image")
        return {}
    images: dict[str, str] = {}
    for service, image in value.items():
        problem = image_problem(image)
        if problem is not None:
            bad(f"{IMAGES}.{service}", problem)
        else:
            images[service] = image
    return images

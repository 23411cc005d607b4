"""Turn recorded AWS calls into IAM requests and have a maintained simulator judge them.

The judge is @cloud-copilot/iam-simulate (npm, pinned in package.json; run by tests/tools/iam_simulate.mjs
on the project's Node): it evaluates Allow/Deny with resources and every condition operator, and checks
that each action, resource type and context key exists. This module only says which IAM requests
(action, resource ARN, context keys) one API call makes, the way AWS authorizes it:

- RunTask: ecs:RunTask on the task definition (context ecs:cluster), ecs:TagResource on the new task
  when it carries tags (ecs:CreateAction = RunTask), and iam:PassRole for the task definition's task and
  execution roles (iam:PassedToService = ecs-tasks.amazonaws.com);
- StopTask and DescribeTasks: the task ARN (one request per task), context ecs:cluster;
- ListTasks: `*` with context ecs:cluster; DescribeTaskDefinition: `*`;
- per-user homes (ecsspawner/homes.py): RegisterTaskDefinition on the new revision of the user's family
  (revision 1 stands for the number ECS picks), ecs:TagResource on it when tagged (ecs:CreateAction =
  RegisterTaskDefinition), iam:PassRole for the task and execution roles it names; ListTaskDefinitions,
  ListTaskDefinitionFamilies and DeregisterTaskDefinition on `*`; elasticfilesystem:DescribeAccessPoints on
  the file system it names; CreateAccessPoint on the file system with each request tag as
  aws:RequestTag/<key>, and elasticfilesystem:TagResource on the new access point (elasticfilesystem:
  CreateAction = CreateAccessPoint); DeleteAccessPoint on the access point, with the hub's tag as
  aws:ResourceTag (the spawner deletes only access points it found by that tag: UserHomes._scan).

A call this table does not know fails the test that meets it (`UnknownCall`): a new call in the spawner
needs a row here and a statement in the policy.

Templates hold CloudFormation intrinsics; `resolve()` renders the few the policy uses for one fixed
account and region (Ref of pseudo parameters and of a managed policy, Fn::Join, Fn::GetAtt of a role's Arn).
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
NODE = REPO / "node_modules" / ".bin" / "node"
SIMULATE = REPO / "tests" / "tools" / "iam_simulate.mjs"
ACCOUNT = "123456789012"
REGION = "us-east-1"
PARTITION = "aws"
HUB_ROLE = f"arn:aws:iam::{ACCOUNT}:role/hub"
ECS_TASKS = "ecs-tasks.amazonaws.com"
FILE_SYSTEM = "fs-0123456789abcdef0"  # the id a created file system (Ref / Fn::GetAtt) resolves to
TAG_HUB = "jupyterhub:hub-id"  # ecsspawner.identity.TAG_HUB (not imported: this module stays without jupyterhub)


class UnknownCall(LookupError):
    """A recorded call with no row in `requests_for`: say which, so someone adds it (and its permission)."""


@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    context: dict[str, str] = field(default_factory=dict)
    why: str = ""  # the call it comes from, for failure messages

    def to_json(self) -> dict:
        return {
            "principal": HUB_ROLE,
            "action": self.action,
            "resource": self.resource,
            "accountId": ACCOUNT,
            "context": self.context,
        }


@dataclass(frozen=True)
class Verdict:
    request: Request
    result: str | None
    ignored_context_keys: tuple[str, ...]
    errors: Any


def resolve(value: Any, template: dict) -> Any:
    """A template value with Ref / Fn::Join / Fn::GetAtt rendered for ACCOUNT in REGION."""
    if isinstance(value, list):
        return [resolve(v, template) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"}:
        name = value["Ref"]
        pseudo = {"AWS::Partition": PARTITION, "AWS::Region": REGION, "AWS::AccountId": ACCOUNT}
        if name in pseudo:
            return pseudo[name]
        if template["Resources"][name]["Type"] == "AWS::IAM::ManagedPolicy":
            return f"arn:aws:iam::{ACCOUNT}:policy/{name}"
        if template["Resources"][name]["Type"] == "AWS::EFS::FileSystem":
            return FILE_SYSTEM
        raise ValueError(f"cannot resolve Ref {name}")
    if set(value) == {"Fn::Join"}:
        sep, parts = value["Fn::Join"]
        return sep.join(str(resolve(p, template)) for p in parts)
    if set(value) == {"Fn::GetAtt"}:
        logical, attribute = value["Fn::GetAtt"]
        resource = template["Resources"][logical]
        if resource["Type"] == "AWS::IAM::Role" and attribute == "Arn":
            return role_arn(resource["Properties"].get("RoleName", logical))
        if resource["Type"] == "AWS::EFS::FileSystem" and attribute == "Arn":
            return file_system_arn(FILE_SYSTEM)
        raise ValueError(f"cannot resolve Fn::GetAtt {logical}.{attribute}")
    return {k: resolve(v, template) for k, v in value.items()}


def role_arn(logical_id: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{logical_id}"


def hub_policies(template: dict) -> list[dict]:
    """Every managed policy of the template, resolved: what the hub's role would have attached."""
    return [
        {"name": logical, "policy": resolve(r["Properties"]["PolicyDocument"], template)}
        for logical, r in template["Resources"].items()
        if r["Type"] == "AWS::IAM::ManagedPolicy"
    ]


def passed_roles(template: dict, family: str) -> list[str]:
    """The task role and execution role ARNs that the template's task definition `family` names (a user's own
    family `<family>-u<16 hex>` is a copy of `<family>` and names the same roles)."""
    family = re.sub(r"-u[0-9a-f]{16}\Z", "", family)
    for r in template["Resources"].values():
        if r["Type"] == "AWS::ECS::TaskDefinition" and r["Properties"]["Family"] == family:
            props = r["Properties"]
            return [resolve(props[k], template) for k in ("TaskRoleArn", "ExecutionRoleArn") if k in props]
    raise UnknownCall(f"RunTask of family {family!r}, which the template does not define")


def cluster_arn(cluster: str) -> str:
    return cluster if cluster.startswith("arn:") else f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{cluster}"


def cluster_name(cluster: str) -> str:
    return cluster.rpartition("/")[2] if cluster.startswith("arn:") else cluster


def task_arn(cluster: str, task: str) -> str:
    return task if task.startswith("arn:") else f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/{cluster_name(cluster)}/{task}"


def task_definition_arn(name: str) -> str:
    if name.startswith("arn:"):
        return name
    family, _, revision = name.partition(":")
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{family}:{revision or '1'}"


# ECS actions without resource-level permissions in IAM: authorized on `*`.
NO_RESOURCE_LEVEL = (
    "DescribeTaskDefinition",
    "ListTaskDefinitions",
    "ListTaskDefinitionFamilies",
    "DeregisterTaskDefinition",
)


def file_system_arn(file_system: str) -> str:
    return f"arn:aws:elasticfilesystem:{REGION}:{ACCOUNT}:file-system/{file_system}"


def access_point_arn(access_point: str) -> str:
    if access_point.startswith("arn:"):
        return access_point
    return f"arn:aws:elasticfilesystem:{REGION}:{ACCOUNT}:access-point/{access_point}"


def efs_requests(operation: str, params: dict, why: str) -> list[Request]:
    if operation == "DescribeAccessPoints" and params.get("FileSystemId"):
        return [Request("elasticfilesystem:DescribeAccessPoints", file_system_arn(params["FileSystemId"]), {}, why)]
    if operation == "CreateAccessPoint":
        tags = {f"aws:RequestTag/{t['Key']}": t["Value"] for t in params.get("Tags") or []}
        fs = file_system_arn(params["FileSystemId"])
        out = [Request("elasticfilesystem:CreateAccessPoint", fs, tags, why)]
        if tags:
            new = access_point_arn("fsap-0123456789abcdef0")
            out.append(
                Request("elasticfilesystem:TagResource", new, {"elasticfilesystem:CreateAction": operation}, why)
            )
        return out
    if operation == "DeleteAccessPoint":
        hub_tagged = {f"aws:ResourceTag/{TAG_HUB}": "hub"}
        return [
            Request("elasticfilesystem:DeleteAccessPoint", access_point_arn(params["AccessPointId"]), hub_tagged, why)
        ]
    raise UnknownCall(f"no IAM request mapping for elasticfilesystem:{operation}; add one in tests/iam_check.py")


def register_requests(params: dict, why: str) -> list[Request]:
    new = task_definition_arn(params["family"])
    out = [Request("ecs:RegisterTaskDefinition", new, {}, why)]
    if params.get("tags"):
        out.append(Request("ecs:TagResource", new, {"ecs:CreateAction": "RegisterTaskDefinition"}, why))
    roles = [params[k] for k in ("taskRoleArn", "executionRoleArn") if params.get(k)]
    return out + [Request("iam:PassRole", role, {"iam:PassedToService": ECS_TASKS}, why) for role in roles]


def requests_for(call: dict, *, roles_of: Callable[[str], list[str]]) -> list[Request]:
    """The IAM requests AWS authorizes for one recorded call (see the module's table)."""
    service, operation, params = call["service"], call["operation"], call["params"]
    why = f"{service}:{operation} {json.dumps({k: v for k, v in params.items() if k != 'overrides'})[:300]}"
    cluster = params.get("cluster", "default")
    on_cluster = {"ecs:cluster": cluster_arn(cluster)}
    if service == "elasticfilesystem":
        return efs_requests(operation, params, why)
    if service != "ecs":
        raise UnknownCall(f"no IAM request mapping for {service}:{operation}; add one in tests/iam_check.py")
    if operation == "RunTask":
        family = params["taskDefinition"].rpartition("/")[2].partition(":")[0]
        out = [Request("ecs:RunTask", task_definition_arn(params["taskDefinition"]), on_cluster, why)]
        if params.get("tags"):
            new_task = task_arn(cluster, "0123456789abcdef0123456789abcdef")
            out.append(Request("ecs:TagResource", new_task, {"ecs:CreateAction": "RunTask"}, why))
        out += [Request("iam:PassRole", role, {"iam:PassedToService": ECS_TASKS}, why) for role in roles_of(family)]
        return out
    if operation == "StopTask":
        return [Request("ecs:StopTask", task_arn(cluster, params["task"]), on_cluster, why)]
    if operation == "DescribeTasks":
        return [Request("ecs:DescribeTasks", task_arn(cluster, t), on_cluster, why) for t in params["tasks"]]
    if operation == "ListTasks":
        return [Request("ecs:ListTasks", "*", on_cluster, why)]
    if operation in NO_RESOURCE_LEVEL:
        return [Request(f"ecs:{operation}", "*", {}, why)]
    if operation == "RegisterTaskDefinition":
        return register_requests(params, why)
    raise UnknownCall(f"no IAM request mapping for ecs:{operation}; add one in tests/iam_check.py")


def simulate(policies: list[dict], requests: Iterable[Request]) -> list[Verdict]:
    """One node process judges every request (deduplicated) against the identity policies."""
    unique = list({json.dumps(r.to_json(), sort_keys=True): r for r in requests}.values())
    payload = json.dumps({"policies": policies, "requests": [r.to_json() for r in unique]})
    proc = subprocess.run(
        [str(NODE), str(SIMULATE)], input=payload, capture_output=True, text=True, cwd=REPO, timeout=120, check=True
    )
    answers = json.loads(proc.stdout)
    return [
        Verdict(r, a["result"], tuple(a.get("ignoredContextKeys") or ()), a.get("errors"))
        for r, a in zip(unique, answers, strict=True)
    ]


def renamed_clusters(calls: list[dict], pattern: str, name: str) -> list[dict]:
    """Calls with every cluster matching `pattern` renamed to `name` (tests use one cluster each)."""
    regex = re.compile(pattern)

    def fix(value: Any) -> Any:
        if isinstance(value, str):
            return regex.sub(name, value)
        if isinstance(value, list):
            return [fix(v) for v in value]
        if isinstance(value, dict):
            return {k: fix(v) for k, v in value.items()}
        return value

    return [{**c, "params": fix(c["params"])} for c in calls]

"""The hub's policy, judged by an IAM simulator against the calls the spawner makes.

The policy is synthesized for the fixture hub catalog the spawner tests use (prefix `test-hub`), scoped
to the cluster `hub-cluster`; the spawner tests give every test its own cluster `hub-cluster-N`, so
recorded calls are renamed to that one cluster before they are judged (`hub-cluster-N`, and `prop-N` of
the reaper's property test: each test's hub is configured with exactly one cluster, as a real hub is). The e2e test runs the spawner's
whole test suite with the call recorder (tests/aws_calls.py) and judges every call; the fast tests judge
one call of each kind as the spawner makes it, and calls the policy must refuse.
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys

import pytest

from tests import iam_check
from tests.aws_calls import LOG_ENV, read_calls
from tests.catalogs import HUB_CATALOG_SERVICES, HUB_CATALOG_SIZES, REPO

pytestmark = pytest.mark.synth

PREFIX = "test-hub"
CLUSTER = "hub-cluster"
TASK = f"arn:aws:ecs:{iam_check.REGION}:{iam_check.ACCOUNT}:task/{CLUSTER}/0f1e2d3c4b5a69788796a5b4c3d2e1f0"
TAGS = [{"key": "jupyterhub:hub-id", "value": "hub-a"}]


@pytest.fixture(scope="module")
def policy(tmp_path_factory, cdk_tools):
    made = cdk_tools.synthesize(
        tmp_path_factory.mktemp("policy"),
        prefix=PREFIX,
        cluster=CLUSTER,
        services_dir=str(HUB_CATALOG_SERVICES),
        sizes_file=str(HUB_CATALOG_SIZES),
    )
    # The shared stack (policy, roles) with every task-definition stack's resources: one template to judge.
    template = {**made.shared.to_json(), "Resources": made.resources}
    return template, iam_check.hub_policies(template)


def judge(policy, calls: list[dict]) -> list[iam_check.Verdict]:
    template, policies = policy
    requests = [
        r
        for call in calls
        for r in iam_check.requests_for(call, roles_of=lambda f: iam_check.passed_roles(template, f))
    ]
    return iam_check.simulate(policies, requests)


def call(operation: str, **params) -> dict:
    return {"service": "ecs", "operation": operation, "params": params}


# One call of each kind, with the parameters the spawner sends (ecsspawner/spawner.py, reader.py, reaper.py).
SPAWNER_CALLS = [
    call("DescribeTaskDefinition", taskDefinition=f"{PREFIX}-lab-large"),
    call(
        "RunTask",
        cluster=CLUSTER,
        taskDefinition=f"{PREFIX}-chat-small",
        launchType="FARGATE",
        count=1,
        startedBy="jupyterhub-x",
        tags=TAGS,
    ),
    call(
        "RunTask",
        cluster=CLUSTER,
        taskDefinition=f"{PREFIX}-lab-xlarge",
        capacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT", "weight": 1}],
        tags=TAGS,
    ),
    call("DescribeTasks", cluster=CLUSTER, tasks=[TASK], include=["TAGS"]),
    call("StopTask", cluster=CLUSTER, task=TASK, reason="stopped by JupyterHub"),
    call("ListTasks", cluster=CLUSTER, startedBy="jupyterhub-x", desiredStatus="RUNNING"),
    call("ListTasks", cluster=CLUSTER, desiredStatus="RUNNING"),
]
# Per-user EFS homes (the fixture catalog's lab has one; ecsspawner/homes.py): the same calls with their parameters.
FS = iam_check.FILE_SYSTEM
USER_FAMILY = f"{PREFIX}-lab-large-u0123456789abcdef"
SHARED_ROLES = [iam_check.role_arn(f"{PREFIX}-task-role"), iam_check.role_arn(f"{PREFIX}-execution-role")]


def efs(operation: str, **params) -> dict:
    return {"service": "elasticfilesystem", "operation": operation, "params": params}


HOME_CALLS = [
    efs("DescribeAccessPoints", FileSystemId=FS, MaxResults=100),
    efs(
        "CreateAccessPoint",
        ClientToken="t",
        FileSystemId=FS,
        Tags=[{"Key": "jupyterhub:hub-id", "Value": "hub-a"}, {"Key": "jupyterhub:home-key", "Value": "ann-0a"}],
    ),
    efs("DeleteAccessPoint", AccessPointId="fsap-0123456789abcdef0"),
    call(
        "RegisterTaskDefinition",
        family=USER_FAMILY,
        tags=TAGS,
        taskRoleArn=SHARED_ROLES[0],
        executionRoleArn=SHARED_ROLES[1],
        containerDefinitions=[],
    ),
    call("ListTaskDefinitions", familyPrefix=USER_FAMILY, status="ACTIVE", sort="DESC"),
    call("ListTaskDefinitionFamilies", familyPrefix=f"{PREFIX}-", status="ACTIVE"),
    call("DeregisterTaskDefinition", taskDefinition=f"{USER_FAMILY}:3"),
    call("RunTask", cluster=CLUSTER, taskDefinition=iam_check.task_definition_arn(f"{USER_FAMILY}:3"), tags=TAGS),
]


def assert_all_allowed(verdicts: list[iam_check.Verdict]) -> None:
    not_allowed = [
        f"{v.request.action} {v.request.resource}: {v.result} {v.errors or ''} ({v.request.why})"
        for v in verdicts
        if v.result != "Allowed"
    ]
    assert not not_allowed, f"{len(not_allowed)} not allowed, the first 20:\n" + "\n".join(not_allowed[:20])
    # A context key the simulator set aside would be a condition it did not evaluate: name it.
    unevaluated = [
        f"{v.request.action}: {', '.join(v.ignored_context_keys)}" for v in verdicts if v.ignored_context_keys
    ]
    assert not unevaluated, "conditions not evaluated by the simulator: " + "; ".join(unevaluated)


def test_each_kind_of_per_user_home_call_is_allowed(policy):
    verdicts = judge(policy, HOME_CALLS)
    assert {v.request.action for v in verdicts} == {
        "elasticfilesystem:DescribeAccessPoints",
        "elasticfilesystem:CreateAccessPoint",
        "elasticfilesystem:TagResource",
        "elasticfilesystem:DeleteAccessPoint",
        "ecs:RegisterTaskDefinition",
        "ecs:TagResource",
        "iam:PassRole",
        "ecs:ListTaskDefinitions",
        "ecs:ListTaskDefinitionFamilies",
        "ecs:DeregisterTaskDefinition",
        "ecs:RunTask",
    }
    assert_all_allowed(verdicts)


def test_each_kind_of_spawner_call_is_allowed(policy):
    verdicts = judge(policy, SPAWNER_CALLS)
    assert {v.request.action for v in verdicts} == {
        "ecs:DescribeTaskDefinition",
        "ecs:RunTask",
        "ecs:TagResource",
        "iam:PassRole",
        "ecs:DescribeTasks",
        "ecs:StopTask",
        "ecs:ListTasks",
    }
    assert_all_allowed(verdicts)


OTHER_TASK = TASK.replace(f"task/{CLUSTER}/", "task/other-cluster/")
ROLE_FROM_ELSEWHERE = f"arn:aws:iam::{iam_check.ACCOUNT}:role/admin"
OUTSIDE = {
    "RunTask on another cluster": iam_check.Request(
        "ecs:RunTask",
        iam_check.task_definition_arn(f"{PREFIX}-chat-small"),
        {"ecs:cluster": iam_check.cluster_arn("other-cluster")},
    ),
    "RunTask of another prefix's family": iam_check.Request(
        "ecs:RunTask",
        iam_check.task_definition_arn("prod-hub-chat-small"),
        {"ecs:cluster": iam_check.cluster_arn(CLUSTER)},
    ),
    "passing another role": iam_check.Request(
        "iam:PassRole", ROLE_FROM_ELSEWHERE, {"iam:PassedToService": iam_check.ECS_TASKS}
    ),
    "passing a shared role to another service": "lambda",  # filled in below: needs the template's role ARN
    "StopTask of another cluster's task": iam_check.Request(
        "ecs:StopTask", OTHER_TASK, {"ecs:cluster": iam_check.cluster_arn("other-cluster")}
    ),
    "DescribeTasks of another cluster's task": iam_check.Request(
        "ecs:DescribeTasks", OTHER_TASK, {"ecs:cluster": iam_check.cluster_arn("other-cluster")}
    ),
    "ListTasks of another cluster": iam_check.Request(
        "ecs:ListTasks", "*", {"ecs:cluster": iam_check.cluster_arn("other-cluster")}
    ),
    "tagging a task outside RunTask": iam_check.Request("ecs:TagResource", TASK, {}),
    "tagging another cluster's task while running it": iam_check.Request(
        "ecs:TagResource", OTHER_TASK, {"ecs:CreateAction": "RunTask"}
    ),
    "registering a revision of a synthesized family (CloudFormation's)": iam_check.Request(
        "ecs:RegisterTaskDefinition", iam_check.task_definition_arn(f"{PREFIX}-lab-large:2"), {}
    ),
    "registering a user's family of another prefix": iam_check.Request(
        "ecs:RegisterTaskDefinition", iam_check.task_definition_arn("prod-hub-lab-large-u0123456789abcdef"), {}
    ),
    "tagging a user's family outside RegisterTaskDefinition": iam_check.Request(
        "ecs:TagResource", iam_check.task_definition_arn(USER_FAMILY), {}
    ),
    "listing another file system's access points": iam_check.Request(
        "elasticfilesystem:DescribeAccessPoints", iam_check.file_system_arn("fs-0fedcba9876543210"), {}
    ),
    "creating an access point on another file system": iam_check.Request(
        "elasticfilesystem:CreateAccessPoint",
        iam_check.file_system_arn("fs-0fedcba9876543210"),
        {f"aws:RequestTag/{iam_check.TAG_HUB}": "hub-a"},
    ),
    "creating an access point without the hub's tag": iam_check.Request(
        "elasticfilesystem:CreateAccessPoint", iam_check.file_system_arn(FS), {}
    ),
    "deleting an access point the hub did not tag (another file system's)": iam_check.Request(
        "elasticfilesystem:DeleteAccessPoint", iam_check.access_point_arn("fsap-0fedcba9876543210"), {}
    ),
    "tagging an existing access point": iam_check.Request(
        "elasticfilesystem:TagResource", iam_check.access_point_arn("fsap-0fedcba9876543210"), {}
    ),
}


@pytest.mark.parametrize("case", sorted(OUTSIDE))
def test_calls_outside_the_policy_are_denied(policy, case):
    template, policies = policy
    request = OUTSIDE[case]
    if isinstance(request, str):
        role = iam_check.passed_roles(template, f"{PREFIX}-chat-small")[0]
        request = iam_check.Request("iam:PassRole", role, {"iam:PassedToService": f"{request}.amazonaws.com"})
    (verdict,) = iam_check.simulate(policies, [request])
    assert verdict.result == "ImplicitlyDenied", (case, verdict)
    assert not verdict.ignored_context_keys, f"{case}: not evaluated: {verdict.ignored_context_keys}"


def test_a_call_without_a_mapping_fails_by_name(policy):
    with pytest.raises(iam_check.UnknownCall, match="elasticfilesystem:DeleteFileSystem"):
        judge(policy, [efs("DeleteFileSystem", FileSystemId=FS)])


@pytest.mark.e2e
def test_every_call_of_the_spawner_tests_is_allowed(policy, tmp_path):
    """Runs tests/spawner with the recorder (about a minute on two workers), then judges every call."""
    env = {**os.environ, LOG_ENV: str(tmp_path)}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "tests.aws_calls",
            "-n",
            "2",
            "--dist",
            "loadscope",
            "-m",
            "not e2e",
            "-p",
            "no:cacheprovider",
            "tests/spawner",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=170,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    calls = iam_check.renamed_clusters(read_calls(tmp_path), r"\b(?:hub-cluster|prop)-\d+\b", CLUSTER)
    calls = iam_check.renamed_clusters(calls, r"\bfs-[0-9a-f]{8,17}\b", FS)  # each test's moto file system
    kinds = collections.Counter(c["operation"] for c in calls)
    assert {"RunTask", "DescribeTasks", "StopTask", "ListTasks", "DescribeTaskDefinition"} <= set(kinds), kinds
    homes = {"DescribeAccessPoints", "CreateAccessPoint", "DeleteAccessPoint", "RegisterTaskDefinition"}
    homes |= {"ListTaskDefinitions", "ListTaskDefinitionFamilies", "DeregisterTaskDefinition"}
    assert homes <= set(kinds), kinds
    assert_all_allowed(judge(policy, calls))

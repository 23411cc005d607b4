"""The hub's managed policy and the optional cluster, each in a bare Stack; then as the app wires them."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.synth

PARTITION = {"Ref": "AWS::Partition"}
REGION = {"Ref": "AWS::Region"}
ACCOUNT = {"Ref": "AWS::AccountId"}


def arn(service: str, resource: str) -> dict:
    """The Fn::Join that Stack.format_arn renders for an environment-agnostic stack."""
    return {"Fn::Join": ["", ["arn:", PARTITION, f":{service}:", REGION, ":", ACCOUNT, f":{resource}"]]}


def bare_policy(**extra):
    from aws_cdk import App, Stack
    from aws_cdk import aws_iam as iam
    from aws_cdk.assertions import Template

    from hubcdk import HubSpawnerPolicy

    stack = Stack(App(), "bare")
    task_role = iam.Role(stack, "Task", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))
    execution_role = iam.Role(stack, "Exec", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))
    HubSpawnerPolicy(
        stack,
        "Hub",
        prefix="hub-x",
        cluster_name="hubs",
        task_role=task_role,
        execution_role=execution_role,
        **extra,
    )
    template = Template.from_stack(stack)
    (policy,) = template.find_resources("AWS::IAM::ManagedPolicy").values()
    return template, policy["Properties"]["PolicyDocument"]["Statement"]


def test_the_policy_grants_exactly_the_spawners_calls_each_scoped():
    cluster = arn("ecs", "cluster/hubs")
    tasks = arn("ecs", "task/hubs/*")
    template, statements = bare_policy()
    template.resource_count_is("AWS::IAM::ManagedPolicy", 1)
    template.resource_count_is("AWS::IAM::Policy", 0)  # nothing attached to a role by the construct itself
    assert statements == [
        {
            "Sid": "RunTaskFamiliesOfThisPrefixOnTheCluster",
            "Action": "ecs:RunTask",
            "Effect": "Allow",
            "Resource": arn("ecs", "task-definition/hub-x-*"),
            "Condition": {"ArnEquals": {"ecs:cluster": cluster}},
        },
        {
            "Sid": "StopAndDescribeTheClustersTasks",
            "Action": ["ecs:StopTask", "ecs:DescribeTasks"],
            "Effect": "Allow",
            "Resource": tasks,
        },
        {
            "Sid": "ListTasksOfTheCluster",
            "Action": "ecs:ListTasks",
            "Effect": "Allow",
            "Resource": "*",
            "Condition": {"ArnEquals": {"ecs:cluster": cluster}},
        },
        {
            "Sid": "TagTasksOnlyWhileRunTaskCreatesThem",
            "Action": "ecs:TagResource",
            "Effect": "Allow",
            "Resource": tasks,
            "Condition": {"StringEquals": {"ecs:CreateAction": "RunTask"}},
        },
        {
            "Sid": "DescribeTaskDefinitions",
            "Action": "ecs:DescribeTaskDefinition",
            "Effect": "Allow",
            "Resource": "*",
        },
        {
            "Sid": "PassTheSharedRolesToEcsTasks",
            "Action": "iam:PassRole",
            "Effect": "Allow",
            "Resource": [{"Fn::GetAtt": [logical, "Arn"]} for logical in _role_ids(template)],
            "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
        },
    ]


def _role_ids(template) -> list[str]:
    roles = template.find_resources("AWS::IAM::Role")
    return [next(r for r in roles if r.startswith("Task")), next(r for r in roles if r.startswith("Exec"))]


def test_extra_statements_are_appended_to_the_same_document():
    from aws_cdk import aws_iam as iam

    extra = iam.PolicyStatement(
        sid="EfsAccessPoints", actions=["elasticfilesystem:DescribeAccessPoints"], resources=["*"]
    )
    _, statements = bare_policy(extra_statements=[extra])
    assert [s["Sid"] for s in statements][-2:] == ["PassTheSharedRolesToEcsTasks", "EfsAccessPoints"]


def test_the_cluster_construct_has_insights_and_both_fargate_providers():
    from aws_cdk import App, Stack
    from aws_cdk.assertions import Template

    from hubcdk import HubCluster

    stack = Stack(App(), "bare")
    HubCluster(stack, "Cluster", cluster_name="hubs")
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::ECS::Cluster", 1)
    template.resource_count_is("AWS::EC2::VPC", 0)  # a cluster for RunTask tasks needs no VPC of its own
    (cluster,) = template.find_resources("AWS::ECS::Cluster").values()
    assert cluster["Properties"] == {
        "ClusterName": "hubs",
        "ClusterSettings": [{"Name": "containerInsights", "Value": "enabled"}],
        "CapacityProviders": ["FARGATE", "FARGATE_SPOT"],
        "DefaultCapacityProviderStrategy": [{"CapacityProvider": "FARGATE", "Weight": 1}],
    }


def test_the_shared_roles_trust_ecs_tasks_of_this_account_only(hub):
    roles = hub.shared.find_resources("AWS::IAM::Role")
    assert len(roles) == 2
    for role in roles.values():
        (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
        assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}


def test_the_app_outputs_the_policy_arn_and_only_references_the_cluster_by_default(hub):
    outputs = hub.shared.to_json()["Outputs"]
    (policy_id,) = hub.shared.find_resources("AWS::IAM::ManagedPolicy")
    assert outputs["HubPolicyArn"]["Value"] == {"Ref": policy_id}
    hub.shared.resource_count_is("AWS::ECS::Cluster", 0)
    statements = hub.shared.find_resources("AWS::IAM::ManagedPolicy")[policy_id]["Properties"]["PolicyDocument"]
    run_task = statements["Statement"][0]
    cluster = hub.settings.prefix  # the default cluster name
    assert run_task["Condition"] == {"ArnEquals": {"ecs:cluster": arn("ecs", f"cluster/{cluster}")}}
    assert run_task["Resource"] == arn("ecs", f"task-definition/{hub.settings.prefix}-*")


def test_create_cluster_makes_the_named_cluster(tmp_path, cdk_tools):
    made = cdk_tools.synthesize(tmp_path, cluster="hubs-spot", create_cluster="true")
    (cluster,) = made.shared.find_resources("AWS::ECS::Cluster").values()
    assert cluster["Properties"]["ClusterName"] == "hubs-spot"
    assert cluster["Properties"]["CapacityProviders"] == ["FARGATE", "FARGATE_SPOT"]

"""The ECS cluster the hub's tasks run in, for deployments that let the stack own it.

An L1 `CfnCluster`: aws-cdk-lib's `Cluster` makes a VPC of its own when it is given none, and these
tasks only need a cluster (their network comes from the spawner's subnets and security groups).
"""

from __future__ import annotations

from constructs import Construct

CAPACITY_PROVIDERS = ("FARGATE", "FARGATE_SPOT")


class HubCluster(Construct):
    """An ECS cluster named `cluster_name` with Container Insights on and both Fargate capacity providers.

    The default strategy is plain FARGATE: a task is put on Spot only when RunTask asks for it
    (the spawner's `capacity_provider_strategy`).
    """

    def __init__(self, scope: Construct, construct_id: str, *, cluster_name: str) -> None:
        super().__init__(scope, construct_id)
        # Imported here, not at the top: aws_cdk.aws_ecs and what it pulls in (autoscaling, load balancing,
        # assets) take about 0.15 s to import, and only this optional construct needs it.
        from aws_cdk import aws_ecs as ecs

        self.cluster = ecs.CfnCluster(
            self,
            "Cluster",
            cluster_name=cluster_name,
            cluster_settings=[ecs.CfnCluster.ClusterSettingsProperty(name="containerInsights", value="enabled")],
            capacity_providers=list(CAPACITY_PROVIDERS),
            default_capacity_provider_strategy=[
                ecs.CfnCluster.CapacityProviderStrategyItemProperty(capacity_provider="FARGATE", weight=1)
            ],
        )
        self.cluster_name = cluster_name
        self.cluster_arn = self.cluster.attr_arn

"""DescribeTasks calls and time per poll round for N servers: shared batched reader vs one call per server.

Runs against moto's ECS (no AWS account needed), so times are moto's, not AWS's;
the call counts are what AWS would see.

    .venv/bin/python benchmarks/poll_batching.py 50 250 1000
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import boto3
from moto import mock_aws
from moto.moto_api import state_manager

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ecsspawner import aws
from ecsspawner.reader import TaskReader

REGION, CLUSTER, FAMILY = "us-east-1", "bench", "bench-lab-small"


def launch(ecs, subnet: str, sg: str, n: int) -> list[str]:
    arns = []
    while len(arns) < n:
        count = min(10, n - len(arns))  # RunTask's limit per call
        reply = ecs.run_task(
            cluster=CLUSTER,
            taskDefinition=FAMILY,
            launchType="FARGATE",
            count=count,
            networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [sg]}},
        )
        arns += [t["taskArn"] for t in reply["tasks"]]
    return arns


async def batched_round(reader: TaskReader, arns: list[str]) -> None:
    await asyncio.gather(*(reader.get(arn) for arn in arns))


async def naive_round(ecs, arns: list[str]) -> None:
    for arn in arns:  # what a spawner that describes its own task does
        await aws.call(ecs.describe_tasks, cluster=CLUSTER, tasks=[arn])


def measure(ecs, arns: list[str]) -> tuple[int, float, int, float]:
    reader = TaskReader(client=ecs, cluster=CLUSTER, ttl=0.0)
    t0 = time.perf_counter()
    asyncio.run(batched_round(reader, arns))
    batched = time.perf_counter() - t0
    calls: list[int] = []
    ecs.meta.events.register("before-parameter-build.ecs.DescribeTasks", lambda **_: calls.append(1))
    t0 = time.perf_counter()
    asyncio.run(naive_round(ecs, arns))
    naive = time.perf_counter() - t0
    ecs.meta.events.unregister("before-parameter-build.ecs.DescribeTasks")
    return reader.calls, batched, len(calls), naive


def main(sizes: list[int]) -> None:
    state_manager.set_transition("ecs::task", {"progression": "manual", "times": 10**9})
    print(f"{'servers':>8} {'batched calls':>14} {'batched s':>10} {'naive calls':>12} {'naive s':>9}")
    for n in sizes:
        with mock_aws():
            ec2 = boto3.client("ec2", region_name=REGION)
            vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
            ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
            subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/17")["Subnet"]["SubnetId"]
            sg = ec2.create_security_group(GroupName="b", Description="b", VpcId=vpc)["GroupId"]
            ecs = boto3.client("ecs", region_name=REGION)
            ecs.create_cluster(clusterName=CLUSTER)
            ecs.register_task_definition(
                family=FAMILY,
                networkMode="awsvpc",
                requiresCompatibilities=["FARGATE"],
                cpu="512",
                memory="2048",
                containerDefinitions=[{"name": "notebook", "image": "x", "memory": 2048}],
            )
            batched_calls, batched, naive_calls, naive = measure(ecs, launch(ecs, subnet, sg, n))
            print(f"{n:>8} {batched_calls:>14} {batched:>10.3f} {naive_calls:>12} {naive:>9.3f}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [50, 250, 500])

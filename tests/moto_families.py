"""Register the fixture hub catalog's task definition families with moto's ECS (spawner and e2e tests)."""

from __future__ import annotations

from typing import Any

from hubspec import load_catalog
from tests.catalogs import HUB_CATALOG_SERVICES, HUB_CATALOG_SIZES


def register_families(ecs: Any, prefix: str) -> None:
    """One Fargate task definition per service x size, as the CDK app would synthesize (one container
    named `notebook`; moto needs a memory value on every container)."""
    catalog = load_catalog(HUB_CATALOG_SERVICES, HUB_CATALOG_SIZES)
    for service in catalog.services:
        for size in service.sizes:
            spec = catalog.sizes[size]
            ecs.register_task_definition(
                family=f"{prefix}-{service.name}-{size}",
                networkMode="awsvpc",
                requiresCompatibilities=["FARGATE"],
                cpu=str(spec.cpu),
                memory=str(spec.memory),
                containerDefinitions=[
                    {"name": "notebook", "image": service.image, "memory": spec.memory, "essential": True}
                ],
            )

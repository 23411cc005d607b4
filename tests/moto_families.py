"""Register the fixture hub catalog's task definition families with moto's ECS (spawner and e2e tests)."""

from __future__ import annotations

from typing import Any

from hubspec import load_catalog
from hubspec.model import HOME_VOLUME
from tests.catalogs import HUB_CATALOG_SERVICES, HUB_CATALOG_SIZES


def register_families(ecs: Any, prefix: str, file_system_id: str = "fs-0123456789abcdef0") -> None:
    """One Fargate task definition per service x size, as the CDK app would synthesize (one container
    named `notebook`; moto needs a memory value on every container); a service with efs gets the home
    volume without an access point, as hubcdk.HubHomeFileSystem renders it."""
    catalog = load_catalog(HUB_CATALOG_SERVICES, HUB_CATALOG_SIZES)
    for service in catalog.services:
        for size in service.sizes:
            spec = catalog.sizes[size]
            container: dict[str, Any] = {
                "name": "notebook",
                "image": service.image,
                "memory": spec.memory,
                "essential": True,
            }
            home: dict[str, Any] = {}
            if service.efs is not None:
                container["mountPoints"] = [{"sourceVolume": HOME_VOLUME, "containerPath": service.efs.mount_path}]
                home["volumes"] = [
                    {
                        "name": HOME_VOLUME,
                        "efsVolumeConfiguration": {
                            "fileSystemId": file_system_id,
                            "transitEncryption": "ENABLED",
                            "authorizationConfig": {"iam": "ENABLED"},
                        },
                    }
                ]
            ecs.register_task_definition(
                family=f"{prefix}-{service.name}-{size}",
                networkMode="awsvpc",
                requiresCompatibilities=["FARGATE"],
                cpu=str(spec.cpu),
                memory=str(spec.memory),
                containerDefinitions=[container],
                **home,
            )

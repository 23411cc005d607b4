"""A JupyterHub spawner for the Fargate task definitions this project synthesizes.

Hub-side only: it imports the plain spec package (`hubspec`), boto3, jupyterhub
and prometheus_client, never aws-cdk-lib, so the hub runs without Node.js.

`ECSSpawner` is served by the module's `__getattr__` so that every resolution
of the class — the `jupyterhub.spawners` entry point `ecs`, or the dotted name
`ecsspawner.ECSSpawner` in a config — lets the hub-start watcher attach once the
hub is initialized (see ecsspawner.hubstart).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ecsspawner.spawner import ECSSpawner

__all__ = ["ECSSpawner"]


def __getattr__(name: str) -> Any:
    if name == "ECSSpawner":
        from ecsspawner import hubstart
        from ecsspawner.spawner import ECSSpawner

        hubstart.watch_hub()
        return ECSSpawner
    raise AttributeError(f"module 'ecsspawner' has no attribute {name!r}")

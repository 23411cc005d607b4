"""A JupyterHub spawner for the Fargate task definitions this project synthesizes.

Hub-side only: it imports the plain spec package (`hubspec`), boto3, jupyterhub
and prometheus_client, never aws-cdk-lib, so the hub runs without Node.js.
"""

from ecsspawner.spawner import ECSSpawner

__all__ = ["ECSSpawner"]

"""Container image references: which ones live in a private Amazon ECR repository.

ECS pulls a private ECR image with the task's execution role, so that role needs
read access to exactly the repositories the task definitions name. Public images
(Docker Hub, public.ecr.aws, any other registry) need no AWS permission.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# <account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]/<repository>[:tag | @sha256:digest]
_ECR_IMAGE = re.compile(
    r"(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)"
    r"\.amazonaws\.com(?P<china>\.cn)?/"
    r"(?P<name>[a-z0-9]+(?:[._/-][a-z0-9]+)*)"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[0-9a-f]{64})?"
)


@dataclass(frozen=True)
class EcrRepository:
    account: str
    region: str
    name: str

    @property
    def partition(self) -> str:
        if self.region.startswith("cn-"):
            return "aws-cn"
        if self.region.startswith("us-gov-"):
            return "aws-us-gov"
        return "aws"

    @property
    def arn(self) -> str:
        return f"arn:{self.partition}:ecr:{self.region}:{self.account}:repository/{self.name}"


def ecr_repository(image: str) -> EcrRepository | None:
    """The private ECR repository `image` is pulled from, or None for any other registry."""
    match = _ECR_IMAGE.fullmatch(image)
    if match is None:
        return None
    return EcrRepository(account=match["account"], region=match["region"], name=match["name"])

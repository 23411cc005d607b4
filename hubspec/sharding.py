"""Which CloudFormation stack holds a service's task definitions: a stable hash bucket of its name.

The CDK app puts the shared resources (log group, roles, task security group ...) in one stack and
the task definitions in up to SHARD_BUCKETS stacks `<prefix>-task-definitions-<NN>`. A service lands
in bucket `sha256(name) mod SHARD_BUCKETS`, with all its sizes: the bucket depends on nothing but the
service's own name, so adding, removing or resizing another service never moves a task definition
to another stack (which CloudFormation would carry out as a delete and a create). An empty bucket
makes no stack. SHARD_BUCKETS is fixed for good: changing it would move almost every service.

A bucket holds at most MAX_TASK_DEFINITIONS_PER_STACK task definitions (one resource each, well under
CloudFormation's 500 resources and its template size limit); the loader refuses a catalog that
overfills one, so `hubspec check` and synth refuse it with the same line. Plain Python: the hub and
`hubspec` use it without aws-cdk-lib.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol, TypeVar

from hubspec.errors import SpecError
from hubspec.yamlsource import display_name

SHARD_BUCKETS = 16
MAX_TASK_DEFINITIONS_PER_STACK = 200


class _Sized(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def sizes(self) -> tuple[str, ...]: ...


S = TypeVar("S", bound=_Sized)


def shard_of(service: str) -> int:
    """The bucket (0 .. SHARD_BUCKETS - 1) of a service name; the same on every machine and run."""
    return int.from_bytes(hashlib.sha256(service.encode("utf-8")).digest()[:8], "big") % SHARD_BUCKETS


def shard_label(bucket: int) -> str:
    """`07`: the stack name's suffix and the construct id of the bucket's stack."""
    return f"{bucket:02d}"


def shards(specs: Iterable[S]) -> dict[int, list[S]]:
    """Non-empty buckets, lowest first, each with its services in the order given."""
    out: dict[int, list[S]] = {}
    for spec in specs:
        out.setdefault(shard_of(spec.name), []).append(spec)
    return dict(sorted(out.items()))


def shard_errors(specs: Iterable[_Sized], services_dir: Path) -> list[SpecError]:
    """One error per bucket that would hold more task definitions than a stack takes."""
    errors = []
    for bucket, members in shards(specs).items():
        count = sum(len(spec.sizes) for spec in members)
        if count > MAX_TASK_DEFINITIONS_PER_STACK:
            names = ", ".join(sorted(spec.name for spec in members))
            errors.append(
                SpecError(
                    display_name(services_dir),
                    1,
                    "$",
                    f"task-definition stack {shard_label(bucket)} would hold {count} task definitions (services x "
                    f"sizes), but a stack holds at most {MAX_TASK_DEFINITIONS_PER_STACK}; its services (chosen by "
                    f"a hash of the name): {names}; offer fewer sizes in them or rename one",
                )
            )
    return errors

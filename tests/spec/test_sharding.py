"""Which stack holds a service's task definitions: stable, whatever else the catalog holds."""

from __future__ import annotations

from dataclasses import dataclass

from hubspec.sharding import SHARD_BUCKETS, shard_of, shards


@dataclass(frozen=True)
class Svc:
    name: str
    sizes: tuple[str, ...] = ("small",)


def test_the_bucket_of_a_name_never_changes():
    """Pinned values: a different hash or bucket count would move deployed task definitions between
    stacks (CloudFormation deletes them in one stack and creates them in another)."""
    assert SHARD_BUCKETS == 16
    assert {n: shard_of(n) for n in ("chat", "waiide", "lab", "a")} == {"chat": 10, "waiide": 2, "lab": 9, "a": 10}


def test_adding_services_never_moves_an_existing_one():
    before = [Svc(f"svc{i}") for i in range(300)]
    after = before[:150] + [Svc(f"new{i}") for i in range(500)] + before[150:]
    placed_before = {s.name: b for b, members in shards(before).items() for s in members}
    placed_after = {s.name: b for b, members in shards(after).items() for s in members}
    assert {n: placed_after[n] for n in placed_before} == placed_before


def test_every_size_of_a_service_shares_its_stack_and_empty_buckets_make_none():
    groups = shards([Svc("chat", ("small", "medium")), Svc("lab", ("small", "large", "xlarge"))])
    assert groups == {9: [Svc("lab", ("small", "large", "xlarge"))], 10: [Svc("chat", ("small", "medium"))]}

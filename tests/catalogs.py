"""Where the tests' catalogs are.

Tests of the machinery (loader, lint, constructs, spawner) run on fixture
catalogs under tests/, so editing the bundled `services/` or `sizes.yaml` can
never break them. Tests of the bundled catalog (marker `catalog`) read
`BUNDLED_*` and derive every expectation from what the files say.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUNDLED_SERVICES = REPO / "services"
BUNDLED_SIZES = REPO / "sizes.yaml"

FIXTURES = REPO / "tests" / "fixtures"
# A frozen copy of the first bundled catalog: chat (prefers ECS health), waiide, lab; four sizes.
HUB_CATALOG_SERVICES = FIXTURES / "hub_catalog" / "services"
HUB_CATALOG_SIZES = FIXTURES / "hub_catalog" / "sizes.yaml"
# Sizes for machinery tests that write their own service files.
FIXTURE_SIZES = HUB_CATALOG_SIZES


def write_bucket_overflow(services: Path, extra: int = 1) -> tuple[str, list[str]]:
    """Service files whose names all hash to one task-definition stack, 4 sizes each, with `extra`
    task definitions more than a stack holds: (bucket label, service names). The sizes are
    FIXTURE_SIZES' (and the bundled catalog's) small, medium, large, xlarge."""
    from hubspec.sharding import MAX_TASK_DEFINITIONS_PER_STACK, shard_label, shard_of

    wanted = -(-(MAX_TASK_DEFINITIONS_PER_STACK + extra) // 4)
    names = [n for n in (f"s{i:04d}" for i in range(wanted * 40)) if shard_of(n) == 0][:wanted]
    services.mkdir(exist_ok=True)
    for name in names:
        (services / f"{name}.yaml").write_text(
            f"name: {name}\nimage: example/s:1\nsizes: [small, medium, large, xlarge]\n"
            "health_check: {interval: 10, timeout: 5, retries: 6, start_period: 45}\n"
        )
    return shard_label(0), names


def bucket_overflow_line(services: str, names: list[str]) -> str:
    """The loader's line for the catalog `write_bucket_overflow` wrote (its own wording, spelled out)."""
    return (
        f"{services}:1: $: task-definition stack 00 would hold {4 * len(names)} task definitions (services x "
        f"sizes), but a stack holds at most 200; its services (chosen by a hash of the name): {', '.join(names)}; "
        "offer fewer sizes in them or rename one"
    )

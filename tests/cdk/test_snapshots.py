"""One readable JSON snapshot per service x size: logical ID, image, size, health check and port mappings.

Review a change with `pytest tests/cdk --snapshot-update` and read the diff of
`__snapshots__/`; snapshots without a test (a removed size) fail the run.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from hubspec import load_catalog
from tests.catalogs import BUNDLED_SERVICES, BUNDLED_SIZES

pytestmark = [pytest.mark.synth, pytest.mark.catalog]

CASES = [(spec.name, size) for spec in load_catalog(BUNDLED_SERVICES, BUNDLED_SIZES).services for size in spec.sizes]


@pytest.fixture
def snapshot_json(snapshot):
    return snapshot.with_defaults(extension_class=JSONSnapshotExtension)


@pytest.mark.parametrize(("service", "size"), CASES, ids=[f"{s}-{z}" for s, z in CASES])
def test_container_snapshot(hub, snapshot_json, service, size):
    family = f"{hub.settings.prefix}-{service}-{size}"
    (logical_id,) = [
        lid
        for lid, r in hub.resources.items()
        if r["Type"] == "AWS::ECS::TaskDefinition" and r["Properties"]["Family"] == family
    ]
    props = hub.resources[logical_id]["Properties"]
    (box,) = props["ContainerDefinitions"]
    assert {
        "LogicalId": logical_id,  # a change here replaces the task definition on deploy
        "Family": family,
        "Image": box["Image"],
        "Cpu": props["Cpu"],
        "Memory": props["Memory"],
        "HealthCheck": box["HealthCheck"],
        "PortMappings": box["PortMappings"],
    } == snapshot_json


def test_snapshot_files_are_exactly_the_service_sizes():
    """syrupy ignores a stale single-file snapshot when pytest is given paths; this does not."""
    folder = Path(__file__).parent / "__snapshots__" / "test_snapshots"
    present = {p.name for p in folder.glob("*.json")}
    expected = {f"test_container_snapshot[{service}-{size}].json" for service, size in CASES}
    assert not present - expected, f"stale snapshots (delete them): {sorted(present - expected)}"
    assert present == expected

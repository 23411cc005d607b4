"""One readable JSON snapshot per service x size: logical ID, image, size, health check and port mappings.

Review a change with `pytest tests/cdk -m "not e2e" --snapshot-update` and read the diff of
`__snapshots__/`; snapshots without a test (a removed size) fail the run.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from hubspec import load_catalog
from tests.catalogs import BUNDLED_SERVICES, BUNDLED_SIZES

pytestmark = [pytest.mark.synth, pytest.mark.catalog]

TASK_KEYS = ("RuntimePlatform", "EphemeralStorage")
CONTAINER_KEYS = ("DependsOn", "Environment", "Secrets", "StopTimeout", "LinuxParameters")
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
    box, *sidecars = props["ContainerDefinitions"]
    shown = {
        "LogicalId": logical_id,  # a change here replaces the task definition on deploy
        "Family": family,
        "Image": box["Image"],
        "Cpu": props["Cpu"],
        "Memory": props["Memory"],
        "HealthCheck": box["HealthCheck"],
        "PortMappings": box["PortMappings"],
    }
    # Keys a service file may add: shown only when present, so single-container snapshots stay as they were.
    shown |= {key: props[key] for key in TASK_KEYS if key in props}
    shown |= {key: box[key] for key in CONTAINER_KEYS if key in box}
    if sidecars:
        shown["Sidecars"] = [
            {key: c[key] for key in ("Name", "Image", "Essential", "HealthCheck", *CONTAINER_KEYS) if key in c}
            for c in sidecars
        ]
    assert shown == snapshot_json


def test_snapshot_files_are_exactly_the_service_sizes():
    """syrupy ignores a stale single-file snapshot when pytest is given paths; this does not."""
    folder = Path(__file__).parent / "__snapshots__" / "test_snapshots"
    present = {p.name for p in folder.glob("*.json")}
    expected = {f"test_container_snapshot[{service}-{size}].json" for service, size in CASES}
    assert not present - expected, f"stale snapshots (delete them): {sorted(present - expected)}"
    assert present == expected

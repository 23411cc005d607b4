"""Write a sample spawns.jsonl: synthetic spawns of every service × size, recorded by the spawner's own recorder.

Nothing here talks to AWS. Each spawn draws a provisioning + image-pull time (time to RUNNING)
and a server start-up time, and the health check's schedule comes from the timing simulator
(hubspec.health.timing, a random engine profile per spawn), so time to HEALTHY is what the catalog's
check would report for that start-up. A few spawns fail (the task stops while starting) or are
cancelled (start_timeout). The lines are built by ecsspawner.records.SpawnRecorder, the class
the spawner uses, so they are exactly what `c.ECSSpawner.spawn_record_file` holds:

    .venv/bin/python examples/sample_spawns.py /tmp/spawns.jsonl [spawns per service × size]
    .venv/bin/hubspec observed /tmp/spawns.jsonl
    .venv/bin/hubspec tune waiide --samples /tmp/spawns.jsonl --size medium
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
from pathlib import Path

from ecsspawner.records import SpawnRecorder
from hubspec.health.healthstate import PROFILES
from hubspec.health.timing import time_to_healthy
from hubspec.loader import load_catalog

REPO = Path(__file__).resolve().parent.parent
FAILED_SHARE = 0.03  # the task stops while starting (an image pull refused, a capacity error)
CANCELLED_SHARE = 0.01  # JupyterHub's start_timeout ends start()


class Clock:
    """The recorder's clock: seconds since RunTask answered, set by the scenario."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _task(status: str, health: str = "UNKNOWN", **extra: str) -> dict:
    details = [{"name": "privateIPv4Address", "value": "10.0.0.9"}] if status == "RUNNING" else []
    return {
        "taskArn": "arn:aws:ecs:us-east-1:123456789012:task/sample/0",
        "lastStatus": status,
        "healthStatus": health,
        "attachments": [{"details": details}],
        **extra,
    }


def generate(path: Path, *, per_size: int = 40, seed: int = 13, services: Path | None = None) -> int:
    """Append `per_size` spawn records per service × size of the catalog to `path`; returns how many."""
    catalog = load_catalog(services or REPO / "services", REPO / "sizes.yaml")
    rng = random.Random(seed)
    count = 0
    for spec in catalog.services:
        hc = spec.health_check
        for size_index, size in enumerate(spec.sizes):
            for n in range(per_size):
                clock = Clock()
                recorder = SpawnRecorder(
                    hub_id="sample-hub",
                    user=f"user{count}",
                    server="",
                    service=spec.name,
                    size=size,
                    family=f"calliope-hub-dev-{spec.name}-{size}",
                    prefer_ecs_health=hc.prefer_ecs_health,
                    spawn_id=f"sample-{count}",
                    path=str(path),
                    clock=clock,
                )
                recorder.launched()
                clock.now = rng.lognormvariate(3.1, 0.3)  # provisioning + pull: about 22 s, a tail to 45 s
                draw = rng.random()
                if draw < FAILED_SHARE:
                    task = _task("STOPPED", stopCode="TaskFailedToStart", stoppedReason="CannotPullContainerError")
                    recorder.saw(task)
                    recorder.finish(RuntimeError(f"Your server's task stopped while starting ({n})"))
                    count += 1
                    continue
                recorder.saw(_task("RUNNING"))
                if draw < FAILED_SHARE + CANCELLED_SHARE:
                    recorder.finish(asyncio.CancelledError())
                elif not hc.prefer_ecs_health:
                    recorder.finish(None)
                else:
                    startup = rng.lognormvariate(3.2, 0.35) * (1 - 0.1 * size_index)  # bigger sizes start faster
                    profile = rng.choice(PROFILES)
                    healthy = time_to_healthy(hc, profile=profile, ready=startup, ok_seconds=0.2)
                    if healthy is None:  # never healthy within the check's window: UNHEALTHY
                        recorder.finish(RuntimeError("Your server failed its health check while starting"))
                    else:
                        clock.now += healthy
                        recorder.saw(_task("RUNNING", "HEALTHY"))
                        recorder.finish(None)
                count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or len(args) > 2:
        print(__doc__.strip().splitlines()[-3], file=sys.stderr)
        return 2
    path = Path(args[0])
    path.unlink(missing_ok=True)
    written = generate(path, per_size=int(args[1]) if len(args) > 1 else 40)
    print(json.dumps({"file": str(path), "records": written}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

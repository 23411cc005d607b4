"""How fast the health-check simulator runs: probes per second and the cost of a full timing summary.

Prints numbers; asserts nothing. Run: .venv/bin/python benchmarks/simulate.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hubspec.health.healthstate import PROFILES
from hubspec.health.timing import flapping, simulate, timings
from hubspec.model import HealthCheckSpec

CHECKS = {
    "chat (15/10/8/45)": HealthCheckSpec(interval=15, timeout=10, retries=8, start_period=45),
    "lab (30/20/8/60)": HealthCheckSpec(interval=30, timeout=20, retries=8, start_period=60),
    "worst (5/2/10/300)": HealthCheckSpec(interval=5, timeout=2, retries=10, start_period=300),
}


def main() -> None:
    check = CHECKS["chat (15/10/8/45)"]
    started = time.perf_counter()
    sim = simulate(check, flapping(40, 30), profile="classic", until=1_000_000)
    took = time.perf_counter() - started
    print(f"one long run: {len(sim.probes)} probes in {took * 1000:.0f} ms ({len(sim.probes) / took:,.0f} probes/s)")
    for name, check in CHECKS.items():
        started = time.perf_counter()
        timings(check, startup=30)
        took = time.perf_counter() - started
        print(f"timing summary over {len(PROFILES)} profiles, {name}: {took * 1000:.1f} ms")


if __name__ == "__main__":
    main()

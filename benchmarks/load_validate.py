"""Time and peak memory of loading + validating + rendering service catalogs.

Prints numbers; asserts nothing. Run: .venv/bin/python benchmarks/load_validate.py
"""

from __future__ import annotations

import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hubspec import load_catalog, render_health_check

REPO = Path(__file__).resolve().parent.parent

SERVICE = """name: svc{i}
image: example/svc{i}:1
port: {port}
sizes: [small]
health_check:
  endpoint: /health
  interval: 15
  timeout: 10
  retries: 8
  start_period: 45
"""


def _run(services_dir: Path):
    catalog = load_catalog(services_dir, REPO / "sizes.yaml")
    for spec in catalog.services:
        render_health_check(spec)
    return catalog


def measure(label: str, services_dir: Path, repeats: int) -> None:
    """Wall time without tracing (tracemalloc slows Python several-fold), then peak memory."""
    _run(services_dir)  # warm the schema validators
    start = time.perf_counter()
    for _ in range(repeats):
        catalog = _run(services_dir)
    elapsed = (time.perf_counter() - start) / repeats
    tracemalloc.start()
    _run(services_dir)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    n = len(catalog.services)
    print(
        f"{label}: {n} services, {elapsed * 1000:.1f} ms per load+validate+render "
        f"({elapsed / n * 1e3:.2f} ms per service), peak {peak / 1024:.0f} KiB traced"
    )


def main() -> None:
    measure("bundled", REPO / "services", repeats=50)
    with tempfile.TemporaryDirectory() as tmp:
        services = Path(tmp)
        for i in range(200):  # one size each: a stack holds at most 200 families
            (services / f"svc{i}.yaml").write_text(SERVICE.format(i=i, port=8000 + i))
        measure("generated", services, repeats=3)


if __name__ == "__main__":
    main()

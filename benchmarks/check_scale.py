"""`hubspec check` on 1,000 service files: this code next to the old code path, in one run.

Each figure is the wall time of a fresh process (imports included), median of --repeat runs,
alternating between the two variants:

- now: `python -m hubspec check` as shipped;
- old path: the same command with the three speed-ups undone in that process: jsonschema imported
  before hubspec (so its optional format-checker packages load), a new ruamel `YAML()` per file,
  and timing results not memoized (every service simulated again).

The catalog: 1,000 services of one size each, spread over 8 distinct health checks (a real catalog
repeats a few checks many times). Prints numbers; asserts nothing.
Run: .venv/bin/python benchmarks/check_scale.py [--services N] [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHECKS = [(15, 10, 8, 45), (30, 20, 5, 60), (10, 5, 10, 30), (20, 10, 6, 90)]
SERVICE = """name: svc{i:04d}
image: example/svc{i:04d}:1
port: {port}
sizes: [{size}]
health_check:
  endpoint: /health
  interval: {interval}
  timeout: {timeout}
  retries: {retries}
  start_period: {start_period}
  lint_acknowledge:
    - {{rule: HC007, reason: benchmark, accepts: any}}
"""

OLD_PATH = """
import sys
import jsonschema  # before hubspec: every optional format-checker package is imported
from ruamel.yaml import YAML
import hubspec.timing as timing
import hubspec.yamlsource as yamlsource
yamlsource.parser = lambda: YAML(typ="rt")  # a new parser per file
timing.profile_timings = timing.simulate_profile_timings  # no memo
from hubspec.cli import main
sys.exit(main(sys.argv[1:]))
"""


def write_catalog(services: Path, count: int) -> None:
    services.mkdir()
    for i in range(count):
        interval, timeout, retries, start_period = CHECKS[i % len(CHECKS)]
        (services / f"svc{i:04d}.yaml").write_text(
            SERVICE.format(
                i=i,
                port=8000 + i % 2,
                size=("small", "medium")[i // len(CHECKS) % 2],
                interval=interval,
                timeout=timeout,
                retries=retries,
                start_period=start_period,
            ).replace("  lint_acknowledge:\n    - {rule: HC007, reason: benchmark, accepts: any}\n", "")
        )


def run(args: list[str], cwd: Path) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True)
    return time.perf_counter() - start, proc.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_catalog(folder / "services", args.services)
        (folder / "sizes.yaml").write_text((ROOT / "sizes.yaml").read_text())
        check = ["check", "--services-dir", "services", "--sizes-file", "sizes.yaml"]
        variants = {"now": ["-m", "hubspec", *check], "old path": ["-c", OLD_PATH, *check]}
        times: dict[str, list[float]] = {name: [] for name in variants}
        codes: dict[str, int] = {}
        for _ in range(args.repeat):
            for name, argv in variants.items():
                took, codes[name] = run(argv, folder)
                times[name].append(took)
        now, old = (statistics.median(times[name]) for name in variants)
        print(f"hubspec check, {args.services} service files, fresh process, median of {args.repeat}:")
        for name in variants:
            print(
                f"  {name:<9} {statistics.median(times[name]):6.2f} s  (exit {codes[name]}, runs: "
                + ", ".join(f"{t:.2f}" for t in times[name])
                + ")"
            )
        print(f"  now / old path = {now / old:.2f}")


if __name__ == "__main__":
    main()

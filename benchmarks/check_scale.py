"""`hubspec check` on 1,000 service files: this code next to the old code path, in one run.

Each figure is a fresh process (imports included): its wall time and its CPU time (user + system,
what `time.process_time` counts inside it; read here from the waited child's resource usage),
medians of --repeat runs, alternating between the variants:

- now: `python -m hubspec check` as shipped (plain files read from libyaml's event stream);
- no C parser: the same with `yamlsource.C_PARSER = None`, so every file takes ruamel's pure-Python
  round-trip reader (what a machine without ruamel.yaml.clib gets);
- old path: that, plus the earlier speed-ups undone in that process: jsonschema imported before
  hubspec (so its optional format-checker packages load), a new ruamel `YAML()` per file, and
  timing results not memoized (every service simulated again).

Other jobs on the machine inflate wall time, not CPU time: the load average is printed before and
after. The catalog: 1,000 services of one size each, spread over 8 distinct health checks (a real
catalog repeats a few checks many times). Prints numbers; asserts nothing.
Run: .venv/bin/python benchmarks/check_scale.py [--services N] [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import resource
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

NO_C_PARSER = """
import sys
import hubspec.yamlsource as yamlsource
assert yamlsource.C_PARSER is not None
yamlsource.C_PARSER = None  # every file through the round-trip reader
from hubspec.cli import main
sys.exit(main(sys.argv[1:]))
"""

OLD_PATH = """
import sys
import jsonschema  # before hubspec: every optional format-checker package is imported
from ruamel.yaml import YAML
import hubspec.health.timing as timing
import hubspec.yamlsource as yamlsource
assert yamlsource.C_PARSER is not None and callable(yamlsource.parser)
assert callable(timing.profile_timings) and callable(timing.simulate_profile_timings)
yamlsource.C_PARSER = None  # every file through the round-trip reader
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


def run(args: list[str], cwd: Path) -> tuple[float, float, int]:
    """Wall and CPU seconds of one child process, and its exit code."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.returncode


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_catalog(folder / "services", args.services)
        (folder / "sizes.yaml").write_text((ROOT / "sizes.yaml").read_text())
        check = ["check", "--services-dir", "services", "--sizes-file", "sizes.yaml"]
        variants = {
            "now": ["-m", "hubspec", *check],
            "no C parser": ["-c", NO_C_PARSER, *check],
            "old path": ["-c", OLD_PATH, *check],
        }
        walls: dict[str, list[float]] = {name: [] for name in variants}
        cpus: dict[str, list[float]] = {name: [] for name in variants}
        codes: dict[str, int] = {}
        for _ in range(args.repeat):
            for name, argv_ in variants.items():
                wall, cpu, codes[name] = run(argv_, folder)
                walls[name].append(wall)
                cpus[name].append(cpu)
    load_after = os.getloadavg()[0]
    wall_med = {name: statistics.median(walls[name]) for name in variants}
    cpu_med = {name: statistics.median(cpus[name]) for name in variants}
    print(
        f"hubspec check, {args.services} service files, fresh process, median of {args.repeat} "
        f"(load average {load_before:.2f} before, {load_after:.2f} after, {os.cpu_count()} cores):"
    )
    for name in variants:
        print(
            f"  {name:<12} wall {wall_med[name]:6.2f} s  cpu {cpu_med[name]:6.2f} s  (exit {codes[name]}; wall runs: "
            + ", ".join(f"{t:.2f}" for t in walls[name])
            + ")"
        )
    for other in ("no C parser", "old path"):
        print(
            f"  now / {other} = {wall_med['now'] / wall_med[other]:.2f} wall, {cpu_med['now'] / cpu_med[other]:.2f} cpu"
        )


if __name__ == "__main__":
    main()

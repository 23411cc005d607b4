"""Synth at scale, and against a bare aws-cdk-lib app, each figure from fresh processes in one run.

1. 10, 100 and 1,000 task definitions (generated services x 4 sizes): wall time of the whole
   synth process (app.py's `main`, as `cdk synth` runs it: load + lint + build + synth), and peak memory of the Python
   process and of jsii's Node.js process (VmHWM). Growth should be linear.
2. The ratio against a bare aws-cdk-lib app making byte-identical resources: the bare app reads the
   templates this project wrote and declares each resource as a `CfnResource` with the same logical
   ID and properties, under aws-cdk-lib's defaults (its CloudFormation validation engine on). This
   project synthesizes with the engine off (`cfn_validation`, docs/design.md), so the ratio also
   shows `cfn_validation=true` for comparison.

Prints numbers; asserts nothing. Run: .venv/bin/python benchmarks/synth_scale.py [--repeat N] [--sizes 10,100,1000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_BIN = ROOT / "node_modules" / ".bin"

SERVICE = """name: gen{i:03d}
image: example/gen{i:03d}:1
port: 8888
sizes: [small, medium, large, xlarge]
health_check:
  endpoint: /health
  interval: 10
  timeout: 5
  retries: 6
  start_period: 45
"""

WORKER_HUB = """
import importlib.util, json, os, resource, sys, time
sys.path.insert(0, {root!r})
start = time.perf_counter()
os.environ["CDK_OUTDIR"] = sys.argv[1]  # app.py's own path: load, lint, build, synth, publish
os.makedirs(os.path.dirname(sys.argv[1]), exist_ok=True)  # as the CDK CLI's working folder exists
spec = importlib.util.spec_from_file_location("hub_app", {app!r})
app = importlib.util.module_from_spec(spec)
spec.loader.exec_module(app)
pairs = [f"{{key}}={{value if isinstance(value, str) else json.dumps(value)}}" for key, value in json.loads(sys.argv[2]).items()]
if app.main([arg for pair in pairs for arg in ("-c", pair)]) != 0:
    raise SystemExit("app.py failed")
{report}
"""

WORKER_BARE = """
import json, os, resource, sys, time
start = time.perf_counter()
from pathlib import Path
from aws_cdk import App, CfnResource, Stack
src = Path(sys.argv[2])
app = App(outdir=sys.argv[1], analytics_reporting=False)
for template in sorted(src.glob("*.template.json")):
    body = json.loads(template.read_text())
    stack = Stack(app, template.name.split(".")[0], description=body.get("Description"))
    for logical_id, r in body["Resources"].items():
        res = CfnResource(stack, logical_id, type=r["Type"], properties=r.get("Properties"))
        res.override_logical_id(logical_id)
        for key, value in r.items():
            if key not in ("Type", "Properties", "Metadata"):
                res.add_override(key, value)
app.synth()
{report}
"""

REPORT = """
elapsed = time.perf_counter() - start
parents = {}
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        parents[int(pid)] = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        pass
family, node = {os.getpid()}, 0
for _ in range(4):  # jsii's node may be a shim (npm's `node` package) that starts the real binary
    family |= {pid for pid, parent in parents.items() if parent in family}
for pid in family - {os.getpid()}:
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmHWM:"):
                node = max(node, int(line.split()[1]))
    except OSError:
        pass
print(json.dumps({"seconds": elapsed, "python_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "node_kib": node}))
"""


def tool_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDK_")}
    env["PATH"] = os.pathsep.join([str(NODE_BIN), str(ROOT / ".venv" / "bin"), env.get("PATH", "")])
    env["JSII_NODE"] = str(NODE_BIN / "node")
    return env


def run(worker: str, *args: str) -> dict:
    """One fresh process: its own figures (synth time after start-up of the interpreter), and its wall time."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", worker, *args], cwd=ROOT, env=tool_env(), capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-2000:])
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    figures["wall"] = wall
    return figures


def generate(folder: Path, task_definitions: int) -> Path:
    services = folder / f"services-{task_definitions}"
    services.mkdir()
    sizes = ["small", "medium", "large", "xlarge"]
    for i in range(-(-task_definitions // 4)):
        count = min(4, task_definitions - 4 * i)
        text = SERVICE.format(i=i).replace("[small, medium, large, xlarge]", "[" + ", ".join(sizes[:count]) + "]")
        (services / f"gen{i:03d}.yaml").write_text(text)
    return services


def median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeat", type=int, default=5, help="runs per figure (median); this machine varies by 10-30 %% run to run"
    )
    parser.add_argument("--sizes", default="10,100,1000", help="task definition counts (multiples of 4 are exact)")
    args = parser.parse_args()
    hub = WORKER_HUB.format(root=str(ROOT), app=str(ROOT / "app.py"), report=REPORT)
    bare = WORKER_BARE.format(report=REPORT)
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; medians of {args.repeat} runs")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print("\n1. scale (cfn_validation off, as cdk.json):")
        print(f"   {'task defs':>9} {'stacks':>6} {'wall s':>7} {'s/100 TD':>8} {'python MiB':>10} {'node MiB':>9}")
        for count in [int(n) for n in args.sizes.split(",")]:
            services = generate(folder, count)
            outs = []
            for i in range(args.repeat):
                out = folder / f"scale-{count}-{i}"
                outs.append(run(hub, str(out), json.dumps({"services_dir": str(services)})))
            stacks = len(list((folder / f"scale-{count}-0").glob("*.template.json")))
            wall = median(outs, "wall")
            print(
                f"   {count:>9} {stacks:>6} {wall:>7.2f} {wall / count * 100:>8.2f} "
                f"{median(outs, 'python_kib') / 1024:>10.0f} {median(outs, 'node_kib') / 1024:>9.0f}"
            )
        print("\n2. against a bare aws-cdk-lib app with byte-identical resources (alternating runs):")
        for label, services in (("bundled catalog", ROOT / "services"), ("1,000 task defs", folder / "services-1000")):
            if not services.is_dir():
                continue
            figures: dict[str, list[dict]] = {"hub": [], "hub+engine": [], "bare": []}
            for i in range(args.repeat):
                base = folder / f"cmp-{label[:4]}-{i}"
                figures["hub"].append(run(hub, str(base / "hub"), json.dumps({"services_dir": str(services)})))
                figures["hub+engine"].append(
                    run(hub, str(base / "eng"), json.dumps({"services_dir": str(services), "cfn_validation": True}))
                )
                figures["bare"].append(run(bare, str(base / "bare"), str(base / "hub")))
                for name in (p.name for p in (base / "hub").glob("*.template.json")):
                    hub_body = json.loads((base / "hub" / name).read_text())["Resources"]
                    bare_body = json.loads((base / "bare" / name).read_text())["Resources"]
                    strip = lambda res: {k: {x: y for x, y in v.items() if x != "Metadata"} for k, v in res.items()}  # noqa: E731
                    assert strip(hub_body) == strip(bare_body), f"resources differ in {name}"
            bare_wall = median(figures["bare"], "wall")
            print(
                f"   {label}: bare app {bare_wall:.2f} s wall, node {median(figures['bare'], 'node_kib') / 1024:.0f} MiB"
            )
            for name in ("hub", "hub+engine"):
                wall = median(figures[name], "wall")
                print(
                    f"     {name:<11} {wall:6.2f} s wall = {wall / bare_wall:.2f} x bare; "
                    f"node {median(figures[name], 'node_kib') / 1024:.0f} MiB"
                )


if __name__ == "__main__":
    main()

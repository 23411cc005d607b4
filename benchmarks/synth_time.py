"""Wall time of synthesizing the task definitions: in-process, through the CDK CLI, and the
bad-input path of `python app.py` (which stops before aws-cdk-lib is imported).

Prints numbers; asserts nothing. Run: .venv/bin/python benchmarks/synth_time.py [--repeat N] [--services N]
`--services N` (at most 50) also synthesizes N generated services x 4 sizes in-process, to
show how time and the resource count grow (benchmarks/synth_scale.py goes to 1,000 task
definitions, and compares with a bare aws-cdk-lib app).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_BIN = ROOT / "node_modules" / ".bin"
sys.path.insert(0, str(ROOT))
os.environ.setdefault("JSII_NODE", str(NODE_BIN / "node"))  # Node 22: no end-of-life banner

from benchmarks.synth_scale import generate  # noqa: E402  (the generated services, one owner)
from stacks.context import merge_context, read_cdk_json_context, settings_from_context  # noqa: E402
from stacks.inputs import load_inputs  # noqa: E402


def tool_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDK_")}
    env["PATH"] = os.pathsep.join([str(NODE_BIN), str(ROOT / ".venv" / "bin"), env.get("PATH", "")])
    return env


def timed(label: str, fn, repeat: int = 1):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    detail = f" (min {min(times):.2f} s, max {max(times):.2f} s, {repeat} runs)" if repeat > 1 else ""
    print(f"{label:<62} {sum(times) / len(times):7.2f} s{detail}")
    return result


def in_process_synth(outdir: Path, **overrides: str) -> int:
    """Build and synthesize the stack the way app.py does; returns the template's resource count."""
    import json

    from stacks.app_builder import build_stacks, create_app

    context = merge_context(read_cdk_json_context(ROOT / "cdk.json"), overrides)
    settings = settings_from_context(context, root=ROOT)
    app = create_app(context=context, outdir=str(outdir), cfn_validation=settings.cfn_validation)
    build_stacks(app, settings=settings, inputs=load_inputs(settings))
    app.synth()
    return sum(len(json.loads(t.read_text())["Resources"]) for t in outdir.glob("*.template.json"))


def cli_synth(outdir: Path) -> None:
    subprocess.run(
        [str(NODE_BIN / "cdk"), "synth", "--quiet", "--output", str(outdir)],
        cwd=ROOT,
        env=tool_env(),
        check=True,
        capture_output=True,
    )


def bad_input_app() -> None:
    proc = subprocess.run(
        [sys.executable, "app.py", "-c", "prefix=not valid"], cwd=ROOT, env=tool_env(), capture_output=True
    )
    assert proc.returncode == 1, proc.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (default 3)")
    parser.add_argument(
        "--services",
        type=int,
        default=0,
        choices=range(51),
        metavar="N",
        help="also synthesize N (0-50) generated services x 4 sizes",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
        timed("python app.py, bad context (no aws-cdk-lib import)", bad_input_app, args.repeat)
        runs = iter(range(10**6))
        timed("in-process synth, first (jsii starts Node.js, loads the lib)", lambda: in_process_synth(tmp / "first"))
        count = timed(
            "in-process synth, bundled services, warm", lambda: in_process_synth(tmp / f"in{next(runs)}"), args.repeat
        )
        print(f"{'':<62} {count} resources in the templates")
        timed(
            "cdk synth (CLI: Node.js + python app.py + synth)", lambda: cli_synth(tmp / f"cli{next(runs)}"), args.repeat
        )
        if args.services:
            services = generate(tmp, 4 * args.services)
            count = timed(
                f"in-process synth, {args.services} services x 4 sizes",
                lambda: in_process_synth(tmp / f"gen{next(runs)}", services_dir=str(services)),
            )
            print(f"{'':<62} {count} resources in the templates")


if __name__ == "__main__":
    main()

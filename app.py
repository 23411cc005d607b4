#!/usr/bin/env python3
"""CDK app: services/*.yaml + sizes.yaml -> one Fargate task definition per service and size,
in stacks `<prefix>-task-definitions-<NN>` beside one `<prefix>-shared` stack.

Run by `cdk synth` (cdk.json), or directly to check inputs: `python app.py -c prefix=calliope-hub-prod`.
Context keys: prefix, log_retention_days, images (JSON object service -> image),
services_dir, sizes_file, vpc_id + hub_security_group_id (both or neither: the task security group),
cfn_validation (true: aws-cdk-lib's CloudFormation validation engine runs too), cluster (the ECS cluster the hub's
policy is scoped to; default: the prefix), create_cluster (true: the stack makes it), efs_file_system_id,
efs_access_point_id, efs_subnet_ids (JSON list, with the vpc_id pair: mount targets of the stack's EFS file
system). Bad input prints one `file:line: path: message` (or `context: key: message`) line per problem and exits 1 before anything is synthesized.
The only module that reads environment variables.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from stacks.context import merge_context, parse_context_args, read_cdk_json_context, settings_from_context
from stacks.errors import InputErrors
from stacks.inputs import load_inputs

ROOT = Path(__file__).resolve().parent


def cli_context() -> dict:
    """What the CDK CLI hands the app: CDK_CONTEXT_JSON, plus the overflow file for large contexts."""
    context = json.loads(os.environ.get("CDK_CONTEXT_JSON") or "{}")
    overflow = os.environ.get("CONTEXT_OVERFLOW_LOCATION_ENV")
    if overflow:
        context.update(json.loads(Path(overflow).read_text("utf-8")))
    return context


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "-c",
        "--context",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="context value, as for `cdk synth -c` (repeatable)",
    )
    args = parser.parse_args(argv)
    try:
        context = merge_context(
            read_cdk_json_context(ROOT / "cdk.json"), cli_context(), parse_context_args(args.context)
        )
        settings = settings_from_context(context, root=ROOT)
        inputs = load_inputs(settings)
    except InputErrors as err:
        print("\n".join(err.lines), file=sys.stderr)
        return 1
    for warning in inputs.catalog.warnings:  # folder entries that are not service files
        print(warning, file=sys.stderr)
    outdir = os.environ.get("CDK_OUTDIR")
    staging = Path(tempfile.mkdtemp(prefix=".synth-", dir=Path(outdir).parent)) if outdir else None
    published = False
    try:
        # Imported only now: aws-cdk-lib starts a Node.js process, and bad input needs none.
        from stacks.app_builder import build_stacks, create_app

        # aws-cdk-lib's Python modules are some million objects that live until the process ends. Frozen,
        # no garbage collection walks them again: not during synth, and not at exit (0.1-0.2 s here).
        gc.freeze()
        app = create_app(
            context=context, outdir=str(staging) if staging else None, cfn_validation=settings.cfn_validation
        )
        build_stacks(app, settings=settings, inputs=inputs)
        app.synth()
        if staging is not None and outdir is not None:
            publish(staging, Path(outdir))
            published = True
    except RuntimeError as err:  # a jsii error: aws-cdk-lib refused the stack (its report is printed above)
        message = str(err).split(" A copy of this report", 1)[0].strip().splitlines()
        print(f"synth failed: {message[0] if message else type(err).__name__}; nothing was written", file=sys.stderr)
        return 1
    finally:
        if staging is not None and not published:
            shutil.rmtree(staging, ignore_errors=True)
    return 0


def publish(staging: Path, outdir: Path) -> None:
    """Move a complete cloud assembly into `outdir`, so a failed synth never leaves a manifest behind.

    Entries are replaced one by one; anything else in `outdir` (the CDK CLI's lock files) stays.
    The manifest moves last, so a reader never sees a manifest whose templates are missing.
    """
    outdir.mkdir(parents=True, exist_ok=True)
    entries = sorted(staging.iterdir(), key=lambda p: p.name == "manifest.json")
    for entry in entries:
        target = outdir / entry.name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        os.replace(entry, target)
    staging.rmdir()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env python3
"""CDK app: services/*.yaml + sizes.yaml -> one Fargate task definition per service and size.

Run by `cdk synth` (cdk.json), or directly to check inputs: `python app.py -c prefix=calliope-hub-prod`.
Context keys: prefix, log_retention_days, images (JSON object service -> image),
services_dir, sizes_file. Bad input prints one `file:line: path: message` (or
`context: key: message`) line per problem and exits 1 before anything is synthesized.
The only module that reads environment variables.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
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
    # Imported only now: aws-cdk-lib starts a Node.js process, and bad input needs none.
    from stacks.app_builder import build_stack, create_app

    app = create_app(context=context, outdir=os.environ.get("CDK_OUTDIR"))
    build_stack(app, settings=settings, inputs=inputs)
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

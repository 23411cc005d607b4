"""The report's Mermaid diagrams parse with mermaid's own parser (pinned in package.json), so they
render on GitHub instead of showing an error box. A syntax slip in the generator fails here."""

from __future__ import annotations

import json
import re
import subprocess

from hubspec import cli
from tests.catalogs import HUB_CATALOG_SERVICES, HUB_CATALOG_SIZES, REPO

NODE = REPO / "node_modules" / ".bin" / "node"
SCRIPT = REPO / "tests" / "tools" / "mermaid_parse.mjs"


def parse(blocks: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(NODE), str(SCRIPT)], input=json.dumps(blocks), capture_output=True, text=True, timeout=120, cwd=REPO
    )


def test_every_diagram_in_the_report_parses(capsys):
    assert (
        cli.main(["report", "--services-dir", str(HUB_CATALOG_SERVICES), "--sizes-file", str(HUB_CATALOG_SIZES)]) == 0
    )
    blocks = re.findall(r"```mermaid\n(.*?)```", capsys.readouterr().out, re.S)
    assert len(blocks) == 9  # 3 fixture services x (ready, never ready: refused, never ready: hangs)
    proc = parse(blocks)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_parser_refuses_a_broken_diagram():
    proc = parse(["gantt\n    title t\n    section s\n    a task without its data\n"])
    assert proc.returncode == 1 and proc.stdout.startswith("block 0:")

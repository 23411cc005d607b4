"""The real `cdk synth` (Node.js CLI -> cdk.json -> app.py) and cfn-lint on what it writes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from hubspec.health.lint import lint_catalog

pytestmark = [pytest.mark.synth, pytest.mark.catalog]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def templates(cli_synth):
    proc, outdir = cli_synth
    assert proc.returncode == 0, proc.stderr
    return sorted(outdir.glob("*.template.json"))


def test_cli_synth_succeeds_without_traceback(cli_synth):
    proc, _ = cli_synth
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "end-of-life" not in proc.stderr  # Node 22 from node_modules, not the machine's Node 20


def test_cli_output_holds_every_service_and_size(templates, hub):
    resources = [r for t in templates for r in json.loads(t.read_text())["Resources"].values()]
    families = [r["Properties"]["Family"] for r in resources if r["Type"] == "AWS::ECS::TaskDefinition"]
    assert sorted(families) == sorted(hub.task_definitions())  # every service x size of the bundled catalog
    assert len(families) == sum(len(spec.sizes) for spec in hub.inputs.catalog.services)


def test_cfn_lint_finds_no_errors(templates, cdk_tools):
    proc = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "cfn-lint"), "--format", "parseable", *map(str, templates)],
        env=cdk_tools.tool_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    # cfn-lint's exit status is a bit field: 2 = errors, 4 = warnings, 8 = informational.
    assert proc.returncode & 2 == 0, proc.stdout + proc.stderr
    assert proc.returncode in (0, 4, 8, 12), proc.stdout + proc.stderr


def test_cli_and_in_process_synth_write_the_same_bytes(hub, templates):
    assert [t.name for t in templates] == sorted(f.name for f in hub.template_files.values())
    for template_file in templates:
        assert template_file.read_bytes() == (hub.template_files[template_file.name.split(".")[0]]).read_bytes()


def test_cli_prints_open_lint_warnings_only(hub, cli_synth):
    """Open warnings are printed; acknowledged ones (the bundled services have some) are not."""
    proc, _ = cli_synth
    findings = lint_catalog(hub.inputs.catalog)
    output = proc.stdout + proc.stderr
    for finding in findings:
        assert (str(finding) in output) == (finding.severity == "warning" and not finding.acknowledged), finding

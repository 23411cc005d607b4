"""Issue 9, item 3: valid input synthesizes; a synth that aws-cdk-lib refuses writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.synth

ROOT = Path(__file__).resolve().parents[2]
SHELL_VARIABLES = Path(__file__).parent / "inputs" / "shell_variables" / "services"


@pytest.fixture
def run_app(cdk_tools, monkeypatch, capsys, tmp_path):
    """app.main in this process, writing its cloud assembly where `cdk synth` would tell it to."""
    app_module = cdk_tools.load_app_module()
    outdir = tmp_path / "cdk.out"
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("CDK_CONTEXT_JSON", raising=False)
    monkeypatch.setenv("CDK_OUTDIR", str(outdir))

    def run(*context: str) -> tuple[int, list[str], Path]:
        status = app_module.main([a for pair in context for a in ("-c", pair)])
        return status, capsys.readouterr().err.splitlines(), outdir

    return run


def test_shell_variables_in_a_custom_command_synthesize(run_app):
    status, err, outdir = run_app(f"services_dir={SHELL_VARIABLES}", "cfn_validation=true")  # E1029 acknowledged
    assert status == 0, err
    assert (outdir / "manifest.json").is_file()
    template = "".join(p.read_text() for p in outdir.glob("calliope-hub-dev-task-definitions-*.template.json"))
    assert "${JUPYTERHUB_SERVICE_PREFIX}api/status?user=${JUPYTERHUB_USER}" in template
    assert "Fn::Sub" not in template  # passed through as written, for the container's shell
    assert not [p for p in outdir.parent.iterdir() if p.name.startswith(".synth-")]


def test_a_synth_that_aws_cdk_lib_refuses_leaves_no_output(run_app, monkeypatch):
    """Any jsii failure at synth time: one line, exit 1, and no manifest (not even a report) left behind."""
    from aws_cdk import aws_logs

    import stacks.app_builder

    original = stacks.app_builder.build_stacks

    def broken(app, **kwargs):
        built = original(app, **kwargs)
        aws_logs.CfnLogGroup(built.shared, "Broken", log_group_name="${NotAParameter}")  # E1029, not acknowledged
        return built

    monkeypatch.setattr(stacks.app_builder, "build_stacks", broken)
    status, err, outdir = run_app("cfn_validation=true")
    assert status == 1
    assert err[-1].startswith("synth failed: ValidationFailed: ") and err[-1].endswith("; nothing was written")
    assert not outdir.exists()
    assert not [p for p in outdir.parent.iterdir() if p.name.startswith(".synth-")]

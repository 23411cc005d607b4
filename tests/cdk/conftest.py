"""CDK tests: the bundled services synthesized once per session, in-process and with the real CLI.

jsii starts a Node.js process on the first aws_cdk import; JSII_NODE points it
at the project's Node 22 (node_modules/.bin) so it does not print Node 20's
end-of-life banner. Subprocesses get the same PATH the Makefile sets.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from aws_cdk.assertions import Template

    from stacks.app_builder import HubStacks
    from stacks.context import HubSettings
    from stacks.inputs import HubInputs

ROOT = Path(__file__).resolve().parents[2]
INPUTS = Path(__file__).parent / "inputs"
NODE_BIN = ROOT / "node_modules" / ".bin"
CDK = NODE_BIN / "cdk"
PYTHON_BIN = ROOT / ".venv" / "bin"

if (NODE_BIN / "node").exists():
    os.environ.setdefault("JSII_NODE", str(NODE_BIN / "node"))


def tool_env(**extra: str) -> dict[str, str]:
    """The environment `make` gives the CDK CLI: Node 22 and the venv first on PATH, no CDK context."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDK_")}
    env["PATH"] = os.pathsep.join([str(NODE_BIN), str(PYTHON_BIN), env.get("PATH", "")])
    env.update(extra)
    return env


def run_cdk_synth(outdir: Path, *context: str) -> subprocess.CompletedProcess:
    """The real `cdk synth` (cdk.json -> app.py), writing its cloud assembly to `outdir`."""
    args = [str(CDK), "synth", "--quiet", "--output", str(outdir)]
    for pair in context:
        args += ["-c", pair]
    return subprocess.run(args, cwd=ROOT, env=tool_env(), capture_output=True, text=True, timeout=600)


def load_app_module() -> ModuleType:
    """app.py as a module, by path (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location("hub_cdk_app", ROOT / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Synth:
    settings: HubSettings
    inputs: HubInputs
    stacks: HubStacks
    templates: dict[str, Template]  # stack name -> its template; the shared stack first
    template_files: dict[str, Path]  # stack name -> the template as written to the cloud assembly

    @property
    def shared(self) -> Template:
        return self.templates[self.stacks.shared.stack_name]

    @property
    def resources(self) -> dict:
        """Every stack's resources by logical ID (IDs come from construct paths: none repeats)."""
        merged: dict = {}
        for template in self.templates.values():
            resources = template.to_json().get("Resources", {})
            assert not set(resources) & set(merged)
            merged.update(resources)
        return merged

    def task_definitions(self) -> dict[str, dict]:
        """Family -> task definition properties, over every task-definition stack."""
        return {
            r["Properties"]["Family"]: r["Properties"]
            for r in self.resources.values()
            if r["Type"] == "AWS::ECS::TaskDefinition"
        }


def synthesize(outdir: Path, **overrides: str) -> Synth:
    """The bundled services through the same functions app.py calls, with cdk.json's context."""
    from aws_cdk.assertions import Template

    from stacks.app_builder import build_stacks, create_app
    from stacks.context import merge_context, read_cdk_json_context, settings_from_context
    from stacks.inputs import load_inputs

    context = merge_context(read_cdk_json_context(ROOT / "cdk.json"), overrides)
    settings = settings_from_context(context, root=ROOT)
    inputs = load_inputs(settings)
    app = create_app(context=context, outdir=str(outdir))
    add_nag(app)
    stacks = build_stacks(app, settings=settings, inputs=inputs)
    every = [stacks.shared, *stacks.task_definitions.values()]
    templates = {stack.stack_name: Template.from_stack(stack) for stack in every}
    files = {stack.stack_name: outdir / stack.template_file for stack in every}
    return Synth(settings, inputs, stacks, templates, files)


def add_nag(app) -> None:
    """cdk-nag's AwsSolutions pack as a policy-validation plugin: an open finding fails synth, and
    `validation-report.json` in the cloud assembly lists the acknowledged ones with their reasons."""
    from aws_cdk import Validations
    from cdk_nag import AwsSolutionsChecks

    Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def nag_report(outdir: Path) -> list[dict]:
    """The plugin reports of the last synth into `outdir` (empty: nothing found, nothing acknowledged)."""
    import json

    return json.loads((outdir / "validation-report.json").read_text())["pluginReports"]


@pytest.fixture(scope="session")
def cdk_tools():
    """Helpers for tests that run the CLI or the app: `tool_env`, `run_cdk_synth`, `synthesize`, `load_app_module`."""
    return CdkTools()


class CdkTools:
    tool_env = staticmethod(tool_env)
    run_cdk_synth = staticmethod(run_cdk_synth)
    synthesize = staticmethod(synthesize)
    load_app_module = staticmethod(load_app_module)


@pytest.fixture(scope="session")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The bundled services, synthesized in-process once for the whole session."""
    return synthesize(tmp_path_factory.mktemp("cdk-in-process"))


@pytest.fixture(scope="session")
def cli_synth(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, Path]:
    """One real `cdk synth` of the bundled services for the session: (process, output dir).

    The one synth of the suite with aws-cdk-lib's CloudFormation validation engine on (`cfn_validation`):
    it must accept the bundled catalog, and the bytes must equal the in-process synth's (engine off).
    """
    outdir = tmp_path_factory.mktemp("cdk-cli") / "cdk.out"
    return run_cdk_synth(outdir, "cfn_validation=true"), outdir

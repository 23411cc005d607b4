"""The hub image's install: the wheel with `[hub]` in a fresh virtual environment outside the checkout.

Proves what a hub team relies on: `pip install 'hub-ecs-healthchecks[hub]'` brings the spawner and
the `hubspec` command, never aws-cdk-lib (so no Node.js), and JupyterHub finds the spawner by its
entry-point name without PYTHONPATH or a checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hubspec import load_catalog
from tests.catalogs import BUNDLED_SERVICES, BUNDLED_SIZES, REPO

pytestmark = pytest.mark.e2e


def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{args}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def hub_venv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """Build the wheel from a copy of the sources, install it with [hub] (pinned) into a new venv."""
    work = tmp_path_factory.mktemp("wheel")
    dist = work / "dist"
    # Build from the repository with the venv's pinned setuptools (no download of a build backend).
    run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", dist, REPO, cwd=work)
    (wheel,) = dist.glob("hub_ecs_healthchecks-*.whl")
    venv = work / "hub-venv"
    run(sys.executable, "-m", "venv", venv, cwd=work)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PATH"] = os.pathsep.join([str(venv / "bin"), "/usr/bin", "/bin"])
    run(
        venv / "bin" / "pip", "install", "-q", "--disable-pip-version-check",
        f"{wheel}[hub]", "-c", REPO / "constraints.txt",
        cwd=work, env=env,
    )  # fmt: skip
    # The hub's catalog, where an image would COPY it; named by the environment, as the README says.
    catalog = work / "srv"
    shutil.copytree(BUNDLED_SERVICES, catalog / "services")
    shutil.copy(BUNDLED_SIZES, catalog / "sizes.yaml")
    env.update(
        HUBSPEC_SERVICES_DIR=str(catalog / "services"),
        HUBSPEC_SIZES_FILE=str(catalog / "sizes.yaml"),
        HUB_ID="wheel-test-hub",
    )
    return venv, env


def python(venv_env: tuple[Path, dict[str, str]], code: str, cwd: Path) -> str:
    venv, env = venv_env
    return run(venv / "bin" / "python", "-c", code, cwd=cwd, env=env).stdout


def test_hub_extra_brings_the_spawner_and_not_aws_cdk(hub_venv, tmp_path):
    out = python(
        hub_venv,
        "import importlib.util, ecsspawner, hubspec; "
        "print(ecsspawner.__file__); "
        "print([m for m in ('aws_cdk', 'jsii', 'constructs', 'hubcdk') if importlib.util.find_spec(m) is not None])",
        cwd=tmp_path,
    )
    spawner_file, present = out.splitlines()
    assert f"{os.sep}site-packages{os.sep}ecsspawner{os.sep}" in spawner_file  # the installed copy, not the checkout
    assert not spawner_file.startswith(str(REPO))
    assert present == "['hubcdk']"  # the package is there; importing it needs [cdk], which the hub does not install


def test_jupyterhub_resolves_the_spawner_by_entry_point_without_pythonpath(hub_venv, tmp_path):
    venv, env = hub_venv
    example = REPO / "examples" / "jupyterhub_config.py"
    shown = run(venv / "bin" / "jupyterhub", "--show-config", "-f", example, cwd=tmp_path, env=env).stdout
    assert "spawner_class" in shown and "'ecs'" in shown
    out = python(
        hub_venv,
        "from jupyterhub.app import JupyterHub\n"
        f"app = JupyterHub(); app.load_config_file({str(example)!r})\n"
        "cls = app.spawner_class; print(cls.__module__ + '.' + cls.__name__)\n"
        "spawner = cls(config=app.config); print(sorted(s.name for s in spawner.catalog.services))",
        cwd=tmp_path,
    )
    bundled = sorted(s.name for s in load_catalog(BUNDLED_SERVICES, BUNDLED_SIZES).services)
    assert out.splitlines() == ["ecsspawner.spawner.ECSSpawner", str(bundled)]


def test_hubspec_command_checks_the_catalog_the_hub_uses(hub_venv, tmp_path):
    venv, env = hub_venv
    catalog = Path(env["HUBSPEC_SERVICES_DIR"]).parent
    out = run(venv / "bin" / "hubspec", "check", cwd=catalog, env=env).stdout
    assert "0 error(s)" in out

"""hubspec's tiers import one way: core <- health tools <- command line.

The core (`hubspec/*.py`) is what hubcdk/, stacks/ and ecsspawner/ build on; the health-check
tools (`hubspec/health/`) read what the core loads; the command line (`hubspec/cli/` and
`hubspec/__main__.py`) drives both. Each module's imports are read with `ast` (lazy imports
inside functions and `hubspec.…` names written as strings, as importlib takes them, count too), so an arrow pointing up
fails here before anyone has to untangle it.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "hubspec"
CORE, HEALTH, CLI = "core", "health", "cli"
# What a tier may not import. Nothing in hubspec imports the CDK, JupyterHub or the packages built on it.
OUTSIDE = ("aws_cdk", "constructs", "jsii", "jupyterhub", "hubcdk", "stacks", "ecsspawner")
FORBIDDEN = {
    CORE: ("hubspec.health", "hubspec.cli", *OUTSIDE),
    HEALTH: ("hubspec.cli", *OUTSIDE),
    CLI: OUTSIDE,
}
MODULE_NAME = re.compile(r"^hubspec(\.[a-z_][a-z0-9_]*)+$")  # importlib names in strings


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def tier(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    if relative.parts[0] == "health":
        return HEALTH
    if relative.parts[0] == "cli" or relative.name == "__main__.py":
        return CLI
    assert len(relative.parts) == 1, f"{relative}: a new subpackage of hubspec needs a tier in this test"
    return CORE


def imported(path: Path, text: str | None = None) -> set[str]:
    """Every module name `path` imports (also `from package import module`), or names as a string."""
    if text is None:
        text = path.read_text(encoding="utf-8")
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(text, filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and MODULE_NAME.match(node.value):
            names.add(node.value)
    return names


def violations(path: Path, text: str | None = None) -> list[str]:
    forbidden = FORBIDDEN[tier(path)]
    return sorted(
        f"{path.relative_to(ROOT)}: imports {name} ({tier(path)} may not import {prefix})"
        for name in imported(path, text)
        for prefix in forbidden
        if name == prefix or name.startswith(prefix + ".")
    )


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_one_way(path: Path) -> None:
    assert violations(path) == []


def test_every_tier_has_modules_and_the_hub_side_reads_only_the_core() -> None:
    tiers = {tier(path) for path in MODULES}
    assert tiers == {CORE, HEALTH, CLI}
    # hubspec/__init__.py is what `from hubspec import ...` gives the hub: core names only.
    assert not {
        name for name in imported(PACKAGE / "__init__.py") if name.startswith(("hubspec.health", "hubspec.cli"))
    }


@pytest.mark.parametrize(
    "text",
    [
        "def f():\n    from hubspec.health import timing\n    return timing\n",
        "from hubspec import health\n",
        "from .cli import results\n",
        'PLUGINS = ("hubspec.health.tune",)\n',
        "import aws_cdk.aws_ecs\n",
    ],
)
def test_the_check_sees_an_arrow_pointing_up(text: str) -> None:
    assert violations(PACKAGE / "model.py", text)
    assert not violations(PACKAGE / "cli" / "__init__.py", text.replace("aws_cdk.aws_ecs", "json"))


def test_the_health_tools_may_not_import_the_command_line() -> None:
    assert violations(PACKAGE / "health" / "lint.py", "from hubspec.cli import results\n")
    assert violations(PACKAGE / "health" / "lint.py", "from ..cli import results\n")

"""Benchmarks print numbers and assert nothing, so nothing else notices when one stops running:
each must at least import (its module-level code, not its measurements)."""

from __future__ import annotations

import importlib.util

import pytest

from tests.catalogs import REPO

BENCHMARKS = sorted((REPO / "benchmarks").glob("*.py"))


@pytest.mark.parametrize("path", BENCHMARKS, ids=[p.stem for p in BENCHMARKS])
def test_benchmark_imports(path):
    spec = importlib.util.spec_from_file_location(f"benchmark_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # `main()` runs only under __main__
    assert callable(getattr(module, "main", None)), f"{path.name} has no main()"


def test_check_scale_runs_its_three_variants(capsys):
    """Its variants patch hubspec in a child process; a renamed attribute must fail, not measure the same code."""
    spec = importlib.util.spec_from_file_location("benchmark_check_scale", REPO / "benchmarks" / "check_scale.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(["--services", "1", "--repeat", "1"])
    out = capsys.readouterr().out
    for variant in ("now", "no C parser", "old path"):
        assert f"  {variant} " in out and "(exit 0;" in out.split(f"  {variant} ", 1)[1].splitlines()[0], out

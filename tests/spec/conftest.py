"""Example files for the spec tests: good and bad cases, each a folder with services/."""

from __future__ import annotations

from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parent / "examples"
SHARED_SIZES = Path("../../sizes.yaml")  # relative to a case folder, as the errors print it


@pytest.fixture
def load_case(monkeypatch: pytest.MonkeyPatch):
    """Load one example folder the way a user would: from inside it, with relative paths."""
    from hubspec import load_catalog

    def load(case_dir: Path):
        monkeypatch.chdir(case_dir)
        sizes = Path("sizes.yaml") if (case_dir / "sizes.yaml").exists() else SHARED_SIZES
        return load_catalog(Path("services"), sizes)

    return load

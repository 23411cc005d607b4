"""`make deploy-local`'s script, end to end: moto's server, the real CDK CLI, the deployed checks."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from hubspec import load_catalog
from tests.catalogs import REPO

pytestmark = pytest.mark.e2e


def test_deploy_local_deploys_checks_and_diffs():
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "deploy_local.py")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=175,
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
    # the real ECSSpawner started (and stopped) a server of each service from the deployed families, the hub side
    # reached a stand-in on 127.0.0.1, and this process never connected to a task's private address
    catalog = load_catalog(REPO / "services", REPO / "sizes.yaml")
    start = lines.index(
        f"ok   ECSSpawner started a server of each of the {len(catalog.services)} services from the deployed families:"
    )
    started = [line.strip() for line in lines[start + 1 : start + 1 + len(catalog.services)]]
    for spec, line in zip(catalog.services, started, strict=True):
        family = f"calliope-hub-dev-{spec.name}-{spec.default_size}"
        assert line.startswith(f"{spec.name}: {family}"), line
        assert "task at 10." in line and "reached the stand-in at 127.0.0.1:" in line, line
        assert line.endswith("stop() -> desiredStatus STOPPED"), line
        if spec.efs is not None and spec.efs.per_user:  # a family of the user's own, on the deployed file system
            assert re.match(rf"{spec.name}: {family}-u[0-9a-f]{{16}}:1 \(home on fs-", line), line
    assert re.fullmatch(
        rf"this process made \d+ connections, to 127\.0\.0\.1 only; none to the {len(catalog.services)} task addresses",
        lines[start + 1 + len(catalog.services)].strip(),
    )
    # every stand-in for AWS is named in the output
    named = {line.split()[1].rstrip(":") for line in lines if line.startswith("stand-in ")}
    assert named == {"moto-cfn-task-definition-properties", "moto-run-task-memory-per-task", "fargate-agent-stand-in"}


def test_the_script_refuses_a_remote_endpoint_and_drops_the_callers_aws_settings(tmp_path):
    sys.path.insert(0, str(REPO / "scripts"))
    import deploy_local

    caller = {"AWS_PROFILE": "prod", "AWS_SESSION_TOKEN": "x", "CDK_DEFAULT_ACCOUNT": "999", "HOME": "/h"}
    env = deploy_local.local_env("http://127.0.0.1:5000", tmp_path, caller)
    assert "AWS_PROFILE" not in env and "AWS_SESSION_TOKEN" not in env and "CDK_DEFAULT_ACCOUNT" not in env
    assert env["AWS_ACCESS_KEY_ID"] == "testing" and env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5000"
    assert (tmp_path / "credentials").read_text() == "" and env["HOME"] == "/h"
    for endpoint in ("http://localhost:5000", "https://ecs.us-east-1.amazonaws.com", "http://10.0.0.1:5000"):
        with pytest.raises(deploy_local.DeployError, match=r"not on 127\.0\.0\.1"):
            deploy_local.local_env(endpoint, tmp_path, caller)

"""`make diff` / `make deploy` (scripts/cdk_account.py): one sentence for each unusable account, else the CDK CLI.

No network and no real credentials: every AWS_* variable of the caller is removed, the config and credentials
files are empty temporary files, and the account is moto's server on 127.0.0.1 (AWS_ENDPOINT_URL). The CDK
CLI is replaced through the script's documented test seam HUBCDK_CDK_COMMAND by a command that records its
arguments.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import boto3
import pytest

from tests.catalogs import REPO

sys.path.insert(0, str(REPO / "scripts"))
import cdk_account

REGION = "eu-west-1"


@pytest.fixture(scope="module")
def moto_url():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws_home(tmp_path, monkeypatch):
    """No AWS setting of the caller survives; empty config and credentials files."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "CDK_")) or name == cdk_account.CDK_COMMAND_ENV:
            monkeypatch.delenv(name)
    for name in ("config", "credentials"):
        (tmp_path / name).write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance-role lookup on 169.254.169.254
    return tmp_path


@pytest.fixture
def account(aws_home, moto_url, monkeypatch):
    """Fake keys for moto's account in REGION; a fake CDK CLI that records its arguments."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-secret")
    monkeypatch.setenv("AWS_REGION", REGION)
    record = aws_home / "cdk-args.json"
    fake = f"{sys.executable} -c \"import json,sys; json.dump(sys.argv[1:], open({str(record)!r}, 'w'))\""
    monkeypatch.setenv(cdk_account.CDK_COMMAND_ENV, fake)
    return record


def run_main(capsys, *argv):
    code = cdk_account.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def one_sentence(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_no_credentials_at_all_names_aws_profile_and_sso(aws_home, monkeypatch, capsys):
    monkeypatch.setenv("AWS_REGION", REGION)
    code, _, err = run_main(capsys, "diff")
    assert code == 1
    line = one_sentence(err)
    assert line.startswith("make diff: no AWS credentials found")
    assert "AWS_PROFILE" in line and "aws configure sso" in line


def test_a_profile_that_does_not_exist(aws_home, monkeypatch, capsys):
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    code, _, err = run_main(capsys, "deploy")
    assert code == 1
    line = one_sentence(err)
    assert "AWS_PROFILE=no-such-profile names a profile that is not in" in line
    assert "aws configure sso --profile no-such-profile" in line


def test_a_bogus_profile_from_the_command_line_exits_1_without_traceback(aws_home):
    env = {**os.environ, "AWS_PROFILE": "bogus"}
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "cdk_account.py"), "diff"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "AWS_PROFILE=bogus names a profile that is not in" in one_sentence(proc.stderr)


def test_a_missing_region(account, monkeypatch, capsys):
    monkeypatch.delenv("AWS_REGION")
    code, _, err = run_main(capsys, "diff")
    assert code == 1
    assert one_sentence(err).startswith("make diff: no AWS region: set AWS_REGION")
    assert not account.exists()


def test_credentials_sts_rejects(account, monkeypatch, capsys):
    """moto's server checks signatures against its IAM once its "no auth" allowance is spent: keys it does
    not know get STS's own InvalidClientTokenId (HTTP 403)."""
    from moto import settings

    monkeypatch.setattr(settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)
    code, _, err = run_main(capsys, "deploy")
    assert code == 1
    line = one_sentence(err)
    assert line == (
        "make deploy: AWS does not know these access keys (InvalidClientTokenId): check AWS_ACCESS_KEY_ID or "
        "your profile's keys, or sign in again with `aws sso login`."
    )
    assert "testing-secret" not in err
    assert not account.exists()


def test_sts_ok_but_no_bootstrap_says_run_cdk_bootstrap(account, capsys):
    code, _, err = run_main(capsys, "diff")
    assert code == 1
    assert one_sentence(err) == (
        "make diff: account 123456789012 is not bootstrapped in eu-west-1 (no SSM parameter "
        "/cdk-bootstrap/hnb659fds/version): run `npx cdk bootstrap aws://123456789012/eu-west-1` first."
    )
    assert not account.exists()


def test_bootstrapped_account_runs_cdk_with_all_and_the_rest_of_the_arguments(account, moto_url, capsys):
    ssm = boto3.client("ssm", region_name=REGION, endpoint_url=moto_url)
    ssm.put_parameter(Name="/cdk-bootstrap/hnb659fds/version", Value="27", Type="String", Overwrite=True)
    try:
        code, out, err = run_main(capsys, "deploy", "-c", "prefix=hub-dev", "--require-approval", "never")
        assert code == 0, err
        assert json.loads(account.read_text()) == [
            "deploy",
            "--all",
            "-c",
            "prefix=hub-dev",
            "--require-approval",
            "never",
        ]
        assert "account 123456789012, region eu-west-1, bootstrapped" in out
        assert "testing-secret" not in out + err
    finally:
        ssm.delete_parameter(Name="/cdk-bootstrap/hnb659fds/version")


def test_the_cdk_exit_status_is_the_wrappers(account, moto_url, monkeypatch, capsys):
    ssm = boto3.client("ssm", region_name=REGION, endpoint_url=moto_url)
    ssm.put_parameter(Name="/cdk-bootstrap/hnb659fds/version", Value="27", Type="String", Overwrite=True)
    monkeypatch.setenv(cdk_account.CDK_COMMAND_ENV, f"{sys.executable} -c 'raise SystemExit(3)'")
    try:
        assert run_main(capsys, "diff")[0] == 3
    finally:
        ssm.delete_parameter(Name="/cdk-bootstrap/hnb659fds/version")


def test_usage_without_a_verb(capsys):
    assert run_main(capsys)[0] == 2
    assert run_main(capsys, "destroy")[0] == 2

#!/usr/bin/env python3
"""`make diff` / `make deploy`: check the AWS account is usable, then run `cdk diff --all` / `cdk deploy --all`.

Before the CDK CLI starts (whose own answer to a missing account is "Unable to resolve AWS account to
use", twice), this checks, in order, and on the first problem prints ONE sentence saying what to do and
exits 1 (no traceback, nothing deployed):

1. AWS_PROFILE names a profile that exists in the AWS config or credentials file;
2. botocore's credential chain finds credentials (environment, profile, SSO, container or instance role);
3. a region is set (AWS_REGION / AWS_DEFAULT_REGION or the profile's `region`);
4. STS GetCallerIdentity accepts the credentials (its error code becomes the sentence);
5. the account is bootstrapped in that region: the SSM parameter `/cdk-bootstrap/<qualifier>/version`
   exists (qualifier `hnb659fds`, or the context key `@aws-cdk/core:bootstrapQualifier` of cdk.json).

Nothing secret is printed: no key, no token; the account id and region are, once the checks pass.
Everything after the verb goes to the CDK CLI unchanged (`make deploy ARGS="-c prefix=hub-dev"`).

Test seam: HUBCDK_CDK_COMMAND, when set, is the command run instead of node_modules/.bin/cdk (split like a
shell would); the tests point it at a fake command. Nothing else reads it.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CDK = ROOT / "node_modules" / ".bin" / "cdk"
CDK_COMMAND_ENV = "HUBCDK_CDK_COMMAND"
DEFAULT_QUALIFIER = "hnb659fds"
VERBS = ("diff", "deploy")

# STS error codes -> what to do. Anything else: the code and its message, which never holds a secret.
STS_SENTENCES = {
    "InvalidClientTokenId": "AWS does not know these access keys (InvalidClientTokenId): check AWS_ACCESS_KEY_ID or "
    "your profile's keys, or sign in again with `aws sso login`",
    "SignatureDoesNotMatch": "AWS rejected the secret access key (SignatureDoesNotMatch): check "
    "AWS_SECRET_ACCESS_KEY or your profile's keys",
    "ExpiredToken": "your AWS session has expired (ExpiredToken): sign in again (`aws sso login`) or refresh "
    "AWS_SESSION_TOKEN",
    "ExpiredTokenException": "your AWS session has expired (ExpiredTokenException): sign in again (`aws sso login`) "
    "or refresh AWS_SESSION_TOKEN",
    "AccessDenied": "AWS refused sts:GetCallerIdentity for these credentials (AccessDenied): use credentials "
    "that may deploy",
}


class PreflightError(Exception):
    """One sentence: what is wrong and what to do."""


def qualifier(cdk_json: Path = ROOT / "cdk.json") -> str:
    try:
        context = json.loads(cdk_json.read_text()).get("context", {})
    except (OSError, ValueError):
        return DEFAULT_QUALIFIER
    return str(context.get("@aws-cdk/core:bootstrapQualifier") or DEFAULT_QUALIFIER)


def preflight(environ: dict[str, str] | None = None) -> tuple[str, str]:
    """(account, region) when the account is ready for `cdk diff` / `cdk deploy`; else PreflightError."""
    import boto3
    import botocore.session
    from botocore.exceptions import BotoCoreError, ClientError, ProfileNotFound

    env = os.environ if environ is None else environ
    profile = env.get("AWS_PROFILE") or env.get("AWS_DEFAULT_PROFILE") or None
    core = botocore.session.Session()
    if profile and profile not in core.available_profiles:
        files = f"{core.get_config_variable('config_file')} or {core.get_config_variable('credentials_file')}"
        raise PreflightError(
            f"AWS_PROFILE={profile} names a profile that is not in {files}: create it with "
            f"`aws configure sso --profile {profile}` (or `aws configure --profile {profile}`), or unset AWS_PROFILE"
        )
    try:
        session = boto3.session.Session(profile_name=profile)
        credentials = session.get_credentials()
    except ProfileNotFound as err:  # a source_profile that does not exist
        raise PreflightError(f"{err}: fix the profile in your AWS config file") from None
    except BotoCoreError as err:  # e.g. an SSO token that cannot be loaded or refreshed
        raise PreflightError(
            f"AWS credentials could not be loaded ({err}): sign in again with `aws sso login`"
        ) from None
    if credentials is None:
        raise PreflightError(
            "no AWS credentials found: set AWS_PROFILE to a profile from `aws configure sso` (or `aws configure`), "
            "or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )
    region = env.get("AWS_REGION") or session.region_name  # botocore reads only AWS_DEFAULT_REGION; the CDK CLI both
    if not region:
        raise PreflightError(
            "no AWS region: set AWS_REGION (e.g. `export AWS_REGION=eu-west-1`) or `region` in your profile"
        )
    try:
        account = session.client("sts", region_name=region).get_caller_identity()["Account"]
    except ClientError as err:
        code = err.response.get("Error", {}).get("Code", "")
        message = err.response.get("Error", {}).get("Message", "")
        raise PreflightError(
            STS_SENTENCES.get(code, f"AWS refused sts:GetCallerIdentity ({code}: {message}): check your credentials")
        ) from None
    except BotoCoreError as err:
        raise PreflightError(f"could not reach AWS STS in {region} ({err}): check the network and region") from None
    name = f"/cdk-bootstrap/{qualifier()}/version"
    try:
        session.client("ssm", region_name=region).get_parameter(Name=name)
    except ClientError as err:
        code = err.response.get("Error", {}).get("Code", "")
        if code == "ParameterNotFound":
            raise PreflightError(
                f"account {account} is not bootstrapped in {region} (no SSM parameter {name}): "
                f"run `npx cdk bootstrap aws://{account}/{region}` first"
            ) from None
        raise PreflightError(
            f"could not read the SSM parameter {name} in {region} ({code}): the credentials need "
            "ssm:GetParameter on it, as the CDK CLI does"
        ) from None
    except BotoCoreError as err:
        raise PreflightError(f"could not reach AWS SSM in {region} ({err}): check the network and region") from None
    return account, region


def cdk_command(environ: dict[str, str]) -> list[str]:
    seam = environ.get(CDK_COMMAND_ENV)
    return shlex.split(seam) if seam else [str(CDK)]


def main(argv: list[str] | None = None, environ: dict[str, str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    env = dict(os.environ if environ is None else environ)
    if not args or args[0] not in VERBS:
        print(f"usage: cdk_account.py {{{'|'.join(VERBS)}}} [cdk arguments...]", file=sys.stderr)
        return 2
    verb, rest = args[0], args[1:]
    try:
        account, region = preflight(env)
    except PreflightError as err:
        print(f"make {verb}: {err}.", file=sys.stderr)
        return 1
    print(f"make {verb}: account {account}, region {region}, bootstrapped; running cdk {verb} --all", flush=True)
    command = [*cdk_command(env), verb, "--all", *rest]
    try:
        return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode
    except OSError as err:
        print(f"make {verb}: could not run {command[0]} ({err.strerror}): run `make setup` first.", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

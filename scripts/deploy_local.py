#!/usr/bin/env python3
"""`make deploy-local`: deploy the CDK app into moto's server on 127.0.0.1 and check what was deployed.

Never touches real credentials: every AWS_* and CDK_* variable of the caller is dropped, AWS_CONFIG_FILE
and AWS_SHARED_CREDENTIALS_FILE point at empty temporary files, the credentials are fake, and the script
refuses to run unless AWS_ENDPOINT_URL is a 127.0.0.1 address.

Steps:
1. start moto's server in this process (moto.server.ThreadedMotoServer) on 127.0.0.1 and a free port;
2. `cdk bootstrap` with the real CDK CLI (moto creates the CDKToolkit stack);
3. `cdk synth` into a scratch cloud assembly, then every stack of its manifest.json is created with
   CloudFormation CreateStack (TemplateBody), the shared stack first. This replaces only the changeset step
   of `cdk deploy`: with moto 5.2.5 the CLI publishes the template to the bootstrap bucket, then moto's
   CloudFormation cannot read it back from the template URL and the deploy fails with NoSuchBucket ("The
   specified bucket does not exist"), with or without --method=direct. Two intrinsics moto's CloudFormation
   cannot follow are resolved in the copy sent to it, exactly as CloudFormation would: `Fn::GetStackOutput`
   (the task-definition stack reads the created file system's id from the deployed shared stack's outputs)
   and `Fn::GetAtt [file system, Arn]` (built from the file system's Ref);
4. every deployed task definition is compared with its service file (DescribeTaskDefinition: family,
   cpu, memory, and every container's ports and health check, sidecars included);
5. the real ECSSpawner starts a server of each service from the deployed families (lab's per-user EFS home
   on the file system of the shared stack's output HomeFileSystemId), the hub side reaches it through a
   stand-in on 127.0.0.1 (never the task's 10.x address), then stops it. Two stand-ins for AWS, printed by
   name: a patch of moto's RunTask for containers without memory of their own, and a thread reporting
   tasks HEALTHY as Fargate's agent would (scripts/spawn_deployed.py);
6. `cdk diff` of chat's stack, from a copy of the catalog whose chat interval changed, must show exactly
   that change (the shared stack's deployed copy differs from the synthesized one by step 3's rewrite, so
   it is not diffed).
Prints one line per check; exit 0 when all pass.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from botocore.exceptions import BotoCoreError, ClientError  # noqa: E402
from botocore.parsers import ResponseParserError  # noqa: E402
from spawn_deployed import (  # noqa: E402
    FARGATE_AGENT_STANDIN,
    MOTO_CFN_WORKAROUND,
    MOTO_MEMORY_WORKAROUND,
    SpawnCheckError,
    Target,
    moto_in_process,
    spawn_each_service,
)

from hubspec import load_catalog  # noqa: E402
from hubspec.naming import family_name  # noqa: E402
from hubspec.render import render_container_check, render_health_check  # noqa: E402
from hubspec.sharding import shard_label, shard_of  # noqa: E402

ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"
CDK = ROOT / "node_modules" / ".bin" / "cdk"


class DeployError(Exception):
    """One readable sentence: what failed."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def local_env(endpoint: str, scratch: Path, environ: dict[str, str] | None = None) -> dict[str, str]:
    """The caller's environment without any AWS or CDK setting, plus fake credentials for `endpoint`.

    moto's server gets this environment too: it makes boto3 calls of its own (CloudFormation resources),
    and with the caller's AWS_PROFILE (the e2e test sets one that does not exist) botocore raised
    ProfileNotFound inside it, which moto answered with an HTML HTTP 500: the "XML parse error" of
    `cdk bootstrap` that kept the test skipped.
    """
    if urlsplit(endpoint).hostname != "127.0.0.1":
        raise DeployError(f"refusing to deploy: AWS_ENDPOINT_URL {endpoint!r} is not on 127.0.0.1")
    source = os.environ if environ is None else environ
    env = {k: v for k, v in source.items() if not k.startswith(("AWS_", "CDK_"))}
    for name in ("config", "credentials"):
        (scratch / name).write_text("")
    env.update(
        AWS_CONFIG_FILE=str(scratch / "config"),
        AWS_SHARED_CREDENTIALS_FILE=str(scratch / "credentials"),
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
        AWS_ENDPOINT_URL=endpoint,
        AWS_EC2_METADATA_DISABLED="true",
        PATH=os.pathsep.join([str(ROOT / "node_modules" / ".bin"), str(ROOT / ".venv" / "bin"), env.get("PATH", "")]),
    )
    return env


@contextlib.contextmanager
def moto_server(scratch: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """moto's server in this process on 127.0.0.1 and a free port; yields the endpoint and the local environment.

    This process's environment becomes the local one first: moto makes boto3 calls of its own (CloudFormation
    resources), and this process's clients and the spawner must see only the local settings too. In-process
    (moto.server.ThreadedMotoServer) so that the spawner step can patch moto's ECS backend for its one gap and
    stand in for Fargate's agent (scripts/spawn_deployed.py)."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    env = local_env(endpoint, scratch)
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        with moto_in_process(port, scratch / "moto.log") as url:
            yield url, env
    finally:
        os.environ.clear()
        os.environ.update(saved)


def run(args: list[str], env: dict[str, str], what: str, timeout: float = 300) -> str:
    proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise DeployError(f"{what} failed (exit {proc.returncode}): {' | '.join(tail)}")
    return proc.stdout + proc.stderr


def clients(env: dict[str, str]) -> tuple:
    import boto3

    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    url = env["AWS_ENDPOINT_URL"]
    return tuple(session.client(name, endpoint_url=url) for name in ("cloudformation", "ecs", "ec2"))


def stack_artifacts(assembly: Path) -> list[tuple[str, dict]]:
    """The cloud assembly's stacks, each after the stacks it depends on (the shared stack first)."""
    manifest = json.loads((assembly / "manifest.json").read_text())
    stacks = {k: a for k, a in manifest["artifacts"].items() if a.get("type") == "aws:cloudformation:stack"}
    ordered: list[str] = []

    def visit(name: str) -> None:
        if name in ordered:
            return
        for dependency in stacks[name].get("dependencies") or []:
            if dependency in stacks:
                visit(dependency)
        ordered.append(name)

    for name in stacks:
        visit(name)
    return [(stacks[n]["properties"].get("stackName") or stacks[n]["displayName"], stacks[n]) for n in ordered]


def resolve_stack_outputs(value: Any, outputs: dict[str, dict[str, str]]) -> Any:
    """`value` with every `Fn::GetStackOutput` replaced by the output it names from an already deployed stack.

    CloudFormation resolves this intrinsic (CDK's weak cross-stack reference) itself while it creates the
    stack; moto's CloudFormation does not know it. This replaces only that resolution, with the same
    value: the named stack's output as DescribeStacks returns it."""
    if isinstance(value, list):
        return [resolve_stack_outputs(v, outputs) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Fn::GetStackOutput"}:
        ref = value["Fn::GetStackOutput"]
        try:
            return outputs[ref["StackName"]][ref["OutputName"]]
        except KeyError:
            raise DeployError(
                f"Fn::GetStackOutput names {ref['StackName']}.{ref['OutputName']}, not deployed"
            ) from None
    return {k: resolve_stack_outputs(v, outputs) for k, v in value.items()}


def file_system_arns_by_ref(value: Any, template: dict) -> Any:
    """`value` with `Fn::GetAtt [<an AWS::EFS::FileSystem>, Arn]` written as the ARN built from the file system's
    Ref (`arn:<partition>:elasticfilesystem:<region>:<account>:file-system/<id>`, what the attribute is).

    moto 5.2.5's CloudFormation has no attributes for an EFS file system (AttributeError inside it, an
    HTML 500 to the caller); CloudFormation itself resolves the attribute. Only the deployed copy changes."""
    if isinstance(value, list):
        return [file_system_arns_by_ref(v, template) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Fn::GetAtt"}:
        logical, attribute = value["Fn::GetAtt"]
        if attribute == "Arn" and template["Resources"].get(logical, {}).get("Type") == "AWS::EFS::FileSystem":
            parts = ["arn:", {"Ref": "AWS::Partition"}, ":elasticfilesystem:", {"Ref": "AWS::Region"}, ":"]
            return {"Fn::Join": ["", [*parts, {"Ref": "AWS::AccountId"}, ":file-system/", {"Ref": logical}]]}
    return {k: file_system_arns_by_ref(v, template) for k, v in value.items()}


def deploy_assembly(cfn, assembly: Path) -> list[str]:
    """CreateStack for every stack of the cloud assembly, dependencies first; the stack names."""
    names: list[str] = []
    outputs: dict[str, dict[str, str]] = {}
    for name, artifact in stack_artifacts(assembly):
        template = json.loads((assembly / artifact["properties"]["templateFile"]).read_text())
        body = json.dumps(file_system_arns_by_ref(resolve_stack_outputs(template, outputs), template))
        try:
            cfn.create_stack(StackName=name, TemplateBody=body, Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"])
        except (ClientError, BotoCoreError, ResponseParserError) as err:  # moto's HTML 500 is not XML
            raise DeployError(f"CreateStack {name}: {str(err)[:300]}") from None
        stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
        if stack["StackStatus"] != "CREATE_COMPLETE":
            raise DeployError(f"stack {name}: {stack['StackStatus']} {stack.get('StackStatusReason', '')}")
        outputs[name] = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs") or []}
        names.append(name)
    return names


def check_task_definitions(ecs, catalog, prefix: str) -> list[str]:
    """DescribeTaskDefinition of every family: family, cpu, memory, and each container's (main and sidecars)
    ports and health check, against what the service file renders to."""
    problems: list[str] = []
    for spec in catalog.services:
        for size in spec.sizes:
            family = family_name(prefix, spec.name, size)
            td = ecs.describe_task_definition(taskDefinition=family)["taskDefinition"]
            got: dict[str, Any] = {"family": td["family"], "cpu": str(td.get("cpu")), "memory": str(td.get("memory"))}
            expected: dict[str, Any] = {
                "family": family,
                "cpu": str(catalog.sizes[size].cpu),
                "memory": str(catalog.sizes[size].memory),
            }
            deployed = {c["name"]: c for c in td["containerDefinitions"]}
            got["containers"] = sorted(deployed)
            expected["containers"] = sorted(c.name for c in spec.containers)
            for container in spec.containers:
                mine = deployed.get(container.name, {})
                check = render_health_check(spec) if container.name == spec.name else render_container_check(container)
                port = spec.port if container.name == spec.name else None  # sidecars' ports are not mapped
                got[f"{container.name} ports"] = [p["containerPort"] for p in mine.get("portMappings", [])]
                expected[f"{container.name} ports"] = [port] if port else []
                got[f"{container.name} healthCheck"] = mine.get("healthCheck")
                expected[f"{container.name} healthCheck"] = check.to_ecs() if check else None
            for key in got:
                if got[key] != expected[key]:
                    problems.append(f"{family}: {key} is {got[key]!r}, expected {expected[key]!r}")
    return problems


def task_network(ec2) -> tuple[str, str]:
    """A subnet and security group for the tasks (the stack references no VPC without the vpc_id context)."""
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})  # moto's RunTask needs it
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="tasks", Description="tasks", VpcId=vpc)["GroupId"]
    return subnet, group


def start_servers(cfn, ecs, ec2, catalog, prefix: str, cluster: str, shared_stack: str) -> list[str]:
    """The real ECSSpawner starts, reaches (through a 127.0.0.1 stand-in) and stops one server per service."""
    outputs = {
        o["OutputKey"]: o["OutputValue"]
        for o in cfn.describe_stacks(StackName=shared_stack)["Stacks"][0].get("Outputs") or []
    }
    if not ecs.describe_clusters(clusters=[cluster])["clusters"]:
        ecs.create_cluster(clusterName=cluster)  # the stack only references it without create_cluster
    subnet, group = task_network(ec2)
    home = outputs.get("HomeFileSystemId", "")
    target = Target(
        str(ROOT / "services"), str(ROOT / "sizes.yaml"), prefix, cluster, REGION, ACCOUNT, subnet, group, home
    )
    return spawn_each_service(catalog, target)


def diff_after_interval_change(env: dict[str, str], scratch: Path, stacks: list[str]) -> str:
    """`cdk diff` of a catalog copy whose chat interval is 20: the diff's resource lines."""
    services = scratch / "services"
    shutil.copytree(ROOT / "services", services)
    chat = services / "chat.yaml"
    text = chat.read_text()
    changed = text.replace("interval: 15", "interval: 20", 1)
    if changed == text:
        raise DeployError("services/chat.yaml has no 'interval: 15' to change")
    chat.write_text(changed)
    out = run(
        [str(CDK), "diff", "--exclusively", *stacks, "-c", f"services_dir={services}", "-o", str(scratch / "diff.out")],
        env,
        "cdk diff",
    )
    return out


def main(argv: list[str] | None = None) -> int:
    catalog = load_catalog(ROOT / "services", ROOT / "sizes.yaml")
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    prefix = context["prefix"]
    cluster = context.get("cluster") or prefix
    with tempfile.TemporaryDirectory(prefix="deploy-local-") as tmp:
        scratch = Path(tmp)
        try:
            with moto_server(scratch) as (endpoint, env):
                return deploy_and_check(endpoint, env, scratch, catalog, prefix, cluster)
        except DeployError as err:
            print(f"deploy-local: {err}", file=sys.stderr)
            log = (scratch / "moto.log").read_text(errors="replace").strip().splitlines()
            if any("Traceback" in line for line in log):
                print("moto's server log ends:\n  " + "\n  ".join(log[-15:]), file=sys.stderr)
            return 1


def deploy_and_check(endpoint: str, env: dict[str, str], scratch: Path, catalog, prefix: str, cluster: str) -> int:
    run([str(CDK), "bootstrap", f"aws://{ACCOUNT}/{REGION}"], env, "cdk bootstrap")
    print(f"ok   cdk bootstrap aws://{ACCOUNT}/{REGION} into moto at {endpoint}")
    assembly = scratch / "cdk.out"
    run([str(CDK), "synth", "--quiet", "-o", str(assembly)], env, "cdk synth")
    cfn, ecs, ec2 = clients(env)
    print(
        f"stand-in {MOTO_CFN_WORKAROUND}: moto's CloudFormation is patched to pass NetworkMode, Cpu, "
        "RequiresCompatibilities, the roles and the EFS volume keys of each task definition on to ECS, as "
        "CloudFormation does"
    )
    stacks = deploy_assembly(cfn, assembly)
    print(f"ok   CreateStack (instead of cdk deploy's changeset): {', '.join(stacks)}")
    problems = check_task_definitions(ecs, catalog, prefix)
    if problems:
        raise DeployError("; ".join(problems))
    count = sum(len(s.sizes) for s in catalog.services)
    print(f"ok   {count} deployed task definitions match their service files")
    print(
        f"stand-in {MOTO_MEMORY_WORKAROUND}: moto's RunTask is patched to accept a container without memory of its "
        "own (Fargate does; the deployed definitions set memory per task); templates unchanged"
    )
    print(
        f"stand-in {FARGATE_AGENT_STANDIN}: a thread reports each RUNNING task and its containers HEALTHY, as "
        "Fargate's agent would once the checks pass (moto runs no container)"
    )
    try:
        lines = start_servers(cfn, ecs, ec2, catalog, prefix, cluster, stacks[0])
    except SpawnCheckError as err:
        raise DeployError(f"spawner: {err}") from None
    print(
        f"ok   ECSSpawner started a server of each of the {len(catalog.services)} services from the deployed families:"
    )
    for line in lines:
        print(f"       {line}")
    chat_stack = f"{prefix}-task-definitions-{shard_label(shard_of('chat'))}"
    # Only chat's stack: a stack whose deployed copy had an intrinsic resolved for moto (step 3) would show that
    # rewrite as a difference; every other stack's deployed template is the synthesized one.
    diff = diff_after_interval_change(env, scratch, [chat_stack])
    changes = [line.strip() for line in diff.splitlines() if line.strip().startswith(("[~]", "[+]", "[-]"))]
    values = [c for c in changes if not c.strip().startswith("[~]")]
    resources = [c for c in changes if c.strip().startswith("[~]")]
    chat = next(s for s in catalog.services if s.name == "chat")
    if sorted(set(values)) != ['[+] "Interval": 20,', '[-] "Interval": 15,'] or len(resources) != len(chat.sizes):
        raise DeployError("cdk diff shows more than chat's interval change: " + " | ".join(changes))
    print("ok   cdk diff after chat interval 15 -> 20 shows exactly that change:")
    for line in changes:
        print(f"       {line.strip()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

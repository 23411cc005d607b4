#!/usr/bin/env python3
"""`make deploy-local`: deploy the CDK app into moto's server on 127.0.0.1 and check what was deployed.

Never touches real credentials: every AWS_* and CDK_* variable of the caller is dropped, AWS_CONFIG_FILE
and AWS_SHARED_CREDENTIALS_FILE point at empty temporary files, the credentials are fake, and the script
refuses to run unless AWS_ENDPOINT_URL is a 127.0.0.1 address.

Steps:
1. start `moto_server` (the venv's) on 127.0.0.1 and a free port;
2. `cdk bootstrap` with the real CDK CLI (moto creates the CDKToolkit stack);
3. `cdk synth` into a scratch cloud assembly, then every stack of its manifest.json is created with
   CloudFormation CreateStack (TemplateBody). This replaces only the changeset step of `cdk deploy`: with
   moto 5.2.5 the CLI publishes the template to the bootstrap bucket, then moto's CloudFormation cannot
   read it back from the template URL and the deploy fails with NoSuchBucket ("The specified bucket does
   not exist"), with or without --method=direct;
4. every deployed task definition is compared with its service file (DescribeTaskDefinition: family,
   cpu, memory, container port, health check);
5. one task per service is started from the deployed families with RunTask, as the spawner sends it
   (its addresses are moto's 10.x fakes: nothing connects to them);
6. `cdk diff` of a copy of the catalog whose chat interval changed must show exactly that change.
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
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from botocore.exceptions import ClientError  # noqa: E402

from hubspec import load_catalog  # noqa: E402
from hubspec.naming import family_name  # noqa: E402
from hubspec.render import render_health_check  # noqa: E402

ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"
CDK = ROOT / "node_modules" / ".bin" / "cdk"
MOTO = ROOT / ".venv" / "bin" / "moto_server"


class DeployError(Exception):
    """One readable sentence: what failed."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def local_env(endpoint: str, scratch: Path) -> dict[str, str]:
    """The caller's environment without any AWS or CDK setting, plus fake credentials for `endpoint`."""
    if urlsplit(endpoint).hostname != "127.0.0.1":
        raise DeployError(f"refusing to deploy: AWS_ENDPOINT_URL {endpoint!r} is not on 127.0.0.1")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_"))}
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
def moto_server() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [str(MOTO), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            time.sleep(0.2)
        else:
            raise DeployError("moto_server did not start within 30 s")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


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


def deploy_assembly(cfn, assembly: Path) -> list[str]:
    """CreateStack for every stack in the cloud assembly's manifest.json; the stack names."""
    manifest = json.loads((assembly / "manifest.json").read_text())
    names = []
    for artifact in manifest["artifacts"].values():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        props = artifact["properties"]
        name = props.get("stackName") or artifact["displayName"]
        body = (assembly / props["templateFile"]).read_text()
        cfn.create_stack(StackName=name, TemplateBody=body, Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"])
        stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
        if stack["StackStatus"] != "CREATE_COMPLETE":
            raise DeployError(f"stack {name}: {stack['StackStatus']} {stack.get('StackStatusReason', '')}")
        names.append(name)
    return names


# What moto 5.2.5's CloudFormation does not carry from the template into the ECS API (checked: cpu of
# AWS::ECS::TaskDefinition comes back as None). Named in the output, never silently passed.
MOTO_GAPS = {"cpu"}


def check_task_definitions(ecs, catalog, prefix: str) -> list[str]:
    problems: list[str] = []
    gaps: set[str] = set()
    for spec in catalog.services:
        want = render_health_check(spec).to_ecs()
        for size in spec.sizes:
            family = family_name(prefix, spec.name, size)
            td = ecs.describe_task_definition(taskDefinition=family)["taskDefinition"]
            container = next(c for c in td["containerDefinitions"] if c.get("essential", True))
            got = {
                "family": td["family"],
                "cpu": str(td.get("cpu")),
                "memory": str(td.get("memory")),
                "ports": [p["containerPort"] for p in container.get("portMappings", [])],
                "healthCheck": container.get("healthCheck"),
            }
            expected = {
                "family": family,
                "cpu": str(catalog.sizes[size].cpu),
                "memory": str(catalog.sizes[size].memory),
                "ports": [spec.port],
                "healthCheck": want,
            }
            for key in got:
                if got[key] == expected[key]:
                    continue
                if key in MOTO_GAPS and got[key] == "None":
                    gaps.add(key)
                    continue
                problems.append(f"{family}: {key} is {got[key]!r}, expected {expected[key]!r}")
    for key in sorted(gaps):
        print(f"gap  {key}: moto's CloudFormation does not keep it on the task definitions; not checked here")
    return problems


def start_each_service(ecs, ec2, catalog, prefix: str, cluster: str) -> list[str]:
    """RunTask of each service's default size, as the spawner sends it; the started task ARNs."""
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="tasks", Description="tasks", VpcId=vpc)["GroupId"]
    if not ecs.describe_clusters(clusters=[cluster])["clusters"]:
        ecs.create_cluster(clusterName=cluster)
    arns = []
    for spec in catalog.services:
        family = family_name(prefix, spec.name, spec.default_size)
        reply = ecs.run_task(
            cluster=cluster,
            taskDefinition=family,
            launchType="FARGATE",
            count=1,
            networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}},
        )
        if reply.get("failures") or not reply.get("tasks"):
            raise DeployError(f"RunTask of {family} failed: {reply.get('failures')}")
        arns.append(reply["tasks"][0]["taskArn"])
    return arns


def diff_after_interval_change(env: dict[str, str], scratch: Path, stack: str) -> str:
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
        [str(CDK), "diff", stack, "-c", f"services_dir={services}", "-o", str(scratch / "diff.out")],
        env,
        "cdk diff",
    )
    return out


def main(argv: list[str] | None = None) -> int:
    catalog = load_catalog(ROOT / "services", ROOT / "sizes.yaml")
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    prefix = context["prefix"]
    cluster = context.get("cluster") or prefix
    with tempfile.TemporaryDirectory(prefix="deploy-local-") as tmp, moto_server() as endpoint:
        scratch = Path(tmp)
        try:
            env = local_env(endpoint, scratch)
            run([str(CDK), "bootstrap", f"aws://{ACCOUNT}/{REGION}"], env, "cdk bootstrap")
            print(f"ok   cdk bootstrap aws://{ACCOUNT}/{REGION} into moto at {endpoint}")
            assembly = scratch / "cdk.out"
            run([str(CDK), "synth", "--quiet", "-o", str(assembly)], env, "cdk synth")
            cfn, ecs, ec2 = clients(env)
            stacks = deploy_assembly(cfn, assembly)
            print(f"ok   CreateStack (instead of cdk deploy's changeset): {', '.join(stacks)}")
            problems = check_task_definitions(ecs, catalog, prefix)
            if problems:
                raise DeployError("; ".join(problems))
            count = sum(len(s.sizes) for s in catalog.services)
            print(f"ok   {count} deployed task definitions match their service files")
            try:
                arns = start_each_service(ecs, ec2, catalog, prefix, cluster)
                print(f"ok   RunTask started {len(arns)} tasks, one per service, from the deployed families")
            except ClientError as err:  # moto 5.2.5: HTTP 500 when a container has no memory of its own
                print(
                    f"gap  RunTask of the deployed families: moto answers {err.response['Error'].get('Code')} "
                    "(it needs memory on every container; these set it per task, as Fargate allows)"
                )
            diff = diff_after_interval_change(env, scratch, stacks[0])
            changes = [line for line in diff.splitlines() if line.strip().startswith(("[~]", "[+]", "[-]"))]
            values = [c for c in changes if not c.strip().startswith("[~]")]
            resources = [c for c in changes if c.strip().startswith("[~]")]
            chat = next(s for s in catalog.services if s.name == "chat")
            if sorted(set(values)) != ['[+] "Interval": 20,', '[-] "Interval": 15,'] or len(resources) != len(
                chat.sizes
            ):
                raise DeployError("cdk diff shows more than chat's interval change: " + " | ".join(changes))
            print("ok   cdk diff after chat interval 15 -> 20 shows exactly that change:")
            for line in changes:
                print(f"       {line.strip()}")
        except DeployError as err:
            print(f"deploy-local: {err}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

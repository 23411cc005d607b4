"""Bad input stops the app with one line per problem, exit status 1, no traceback, no output files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hubspec import load_catalog
from hubspec.health.lint import lint_catalog
from hubspec.loader import schema
from tests.catalogs import FIXTURE_SIZES, bucket_overflow_line, write_bucket_overflow

ROOT = Path(__file__).resolve().parents[2]
INPUTS = Path(__file__).parent / "inputs"
BAD_SPEC = INPUTS / "bad_spec"
BAD_SPEC_LINES = (BAD_SPEC / "expected.txt").read_text().splitlines()
IMAGE_HELP = schema("service")["properties"]["image"]["x-pattern-help"]


def rel(path) -> str:
    return str(path.relative_to(ROOT))


@pytest.fixture(scope="module")
def app_module(cdk_tools):
    return cdk_tools.load_app_module()


@pytest.fixture
def run_main(app_module, monkeypatch, capsys):
    """app.main in this process (no jsii needed: it stops before importing aws_cdk)."""
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("CDK_CONTEXT_JSON", raising=False)

    def run(*context: str) -> tuple[int, list[str]]:
        argv = [a for pair in context for a in ("-c", pair)]
        status = app_module.main(argv)
        return status, capsys.readouterr().err.splitlines()

    return run


CONTEXT_CASES = {
    "prefix": (
        ["prefix=calliope hub!"],
        ["context: prefix: 'calliope hub!' may hold only letters, digits, '_' and '-'"],
    ),
    "cfn_validation": (
        ["cfn_validation=yes"],
        ["context: cfn_validation: 'yes' is not a boolean; allowed: true or false"],
    ),
    "prefix_too_long": (
        ["prefix=" + "p" * 50],
        [
            f"context: prefix: {'p' * 50!r} is longer than 49 characters (the shared role "
            f"{'p' * 50 + '-execution-role'!r} must fit IAM's 64)"
        ],
    ),
    "images_json": (
        ["images={chat: x}"],
        [
            "context: images: not valid JSON (Expecting property name enclosed in double quotes: "
            'line 1 column 2 (char 1)); expected an object such as \'{"chat": "registry/image:tag"}\''
        ],
    ),
    "images_not_object": (['images=["x"]'], ["context: images: ['x'] is not an object mapping service name to image"]),
    "images_blank": (
        ['images={"chat": "a b"}'],
        [f"context: images.chat: 'a b' is not allowed; expected {IMAGE_HELP}"],
    ),
    "images_unknown_service": (
        [f"services_dir={rel(INPUTS / 'edge' / 'services')}", 'images={"chatt": "repo/x:1", "tcpprobe": "repo/tcp:2"}'],
        ["context: images.chatt: unknown service 'chatt'; known: pyprobe, tcpprobe, wgetprobe"],
    ),
    "retention": (
        ["log_retention_days=31"],
        [
            "context: log_retention_days: '31' is not a CloudWatch Logs retention in days; allowed: 1, 3, 5, "
            "7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653"
        ],
    ),
    "misspelled_key": (["prefx=calliope-hub-prod"], ["context: prefx: unknown key; did you mean 'prefix'?"]),
    "not_key_value": (["prefix"], ["context: 'prefix': expected KEY=VALUE"]),
    "sizes_file_missing": (["sizes_file=nope.yaml"], ["nope.yaml:1: $: cannot read file: No such file or directory"]),
    "services_dir_missing": (["services_dir=nodir"], ["nodir:1: $: services directory does not exist"]),
    "vpc_without_hub_group": (
        ["vpc_id=vpc-0123456789abcdef0"],
        ["context: hub_security_group_id: missing; vpc_id is set, and the task security group needs both"],
    ),
    "hub_group_without_vpc": (
        ["hub_security_group_id=sg-01234567"],
        ["context: vpc_id: missing; hub_security_group_id is set, and the task security group needs both"],
    ),
    "network_ids_malformed": (
        ["vpc_id=vpc-XYZ", "hub_security_group_id=sg-0123456789abcdef0 "],
        [
            "context: vpc_id: 'vpc-XYZ' is not an id like 'vpc-0123456789abcdef0'",
            "context: hub_security_group_id: 'sg-0123456789abcdef0 ' is not an id like 'sg-0123456789abcdef0'",
        ],
    ),
    "efs_file_system_id_not_fs_hex": (
        ["efs_file_system_id=fs-XYZ123"],
        [
            "context: efs_file_system_id: 'fs-XYZ123' is not an EFS file system id; expected fs- and 8 or 17 "
            "hex digits, like 'fs-0123456789abcdef0'"
        ],
    ),
    "efs_file_system_id_arn": (
        ["efs_file_system_id=arn:aws:elasticfilesystem:eu-west-1:123456789012:file-system/fs-01234567"],
        [
            "context: efs_file_system_id: 'arn:aws:elasticfilesystem:eu-west-1:123456789012:file-system/fs-01234567'"
            " is not an EFS file system id; expected fs- and 8 or 17 hex digits, like 'fs-0123456789abcdef0'"
        ],
    ),
    "efs_access_point_without_file_system": (
        ["efs_access_point_id=fsap-0123456789abcdef0"],
        ["context: efs_access_point_id: needs efs_file_system_id too: an access point belongs to one file system"],
    ),
    "efs_access_point_not_fsap_hex": (
        ["efs_file_system_id=fs-01234567", "efs_access_point_id=fs-01234567"],
        [
            "context: efs_access_point_id: 'fs-01234567' is not an EFS access point id; expected fsap- and 17 hex "
            "digits, like 'fsap-0123456789abcdef0'"
        ],
    ),
    "efs_subnet_ids_not_json": (
        ["vpc_id=vpc-01234567", "hub_security_group_id=sg-01234567", "efs_subnet_ids=subnet-01234567"],
        [
            "context: efs_subnet_ids: not valid JSON (Expecting value: line 1 column 1 (char 0)); expected a list "
            'of subnet ids such as \'["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]\''
        ],
    ),
    "efs_subnet_ids_empty": (
        ["vpc_id=vpc-01234567", "hub_security_group_id=sg-01234567", "efs_subnet_ids=[]"],
        [
            "context: efs_subnet_ids: [] is not a non-empty list of subnet ids; expected a list such as "
            '\'["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]\''
        ],
    ),
    "efs_subnet_ids_malformed_and_repeated": (
        [
            "vpc_id=vpc-01234567",
            "hub_security_group_id=sg-01234567",
            'efs_subnet_ids=["subnet-01234567", "subnet-XYZ", 7, "subnet-01234567", "subnet-0123456789abcdef"]',
        ],
        [
            "context: efs_subnet_ids[1]: 'subnet-XYZ' is not a subnet id like 'subnet-0123456789abcdef0'",
            "context: efs_subnet_ids[2]: 7 is not a subnet id like 'subnet-0123456789abcdef0'",
            "context: efs_subnet_ids[3]: 'subnet-01234567' is listed twice; a subnet holds one mount target",
            "context: efs_subnet_ids[4]: 'subnet-0123456789abcdef' is not a subnet id like 'subnet-0123456789abcdef0'",
        ],
    ),
    "efs_subnet_ids_without_network": (
        ['efs_subnet_ids=["subnet-01234567"]'],
        [
            "context: efs_subnet_ids: needs vpc_id and hub_security_group_id too: the mount targets admit NFS "
            "only from the task security group they make"
        ],
    ),
    "efs_subnet_ids_with_file_system_id": (
        [
            "vpc_id=vpc-01234567",
            "hub_security_group_id=sg-01234567",
            "efs_file_system_id=fs-01234567",
            'efs_subnet_ids=["subnet-01234567"]',
        ],
        [
            "context: efs_subnet_ids: not allowed with efs_file_system_id: the stack makes mount targets only for "
            "the file system it creates; a file system from context must already have them"
        ],
    ),
    "cluster_name": (
        ["cluster=hubs/prod"],
        ["context: cluster: 'hubs/prod' is not an ECS cluster name; allowed: 1-255 letters, digits, '-' and '_'"],
    ),
    "create_cluster_not_boolean": (
        ["create_cluster=yes"],
        ["context: create_cluster: 'yes' is not a boolean; allowed: true or false"],
    ),
    "several_at_once": (
        ["prefix=a b", "images=[]"],
        [
            "context: prefix: 'a b' may hold only letters, digits, '_' and '-'",
            "context: images: [] is not an object mapping service name to image",
        ],
    ),
}


@pytest.mark.parametrize("case", sorted(CONTEXT_CASES))
def test_bad_context_is_one_clear_line_each(run_main, case):
    context, expected = CONTEXT_CASES[case]
    assert run_main(*context) == (1, expected)


def test_required_context_keys():
    from stacks.context import settings_from_context
    from stacks.errors import InputErrors

    with pytest.raises(InputErrors) as excinfo:
        settings_from_context({"images": "{}"}, root=ROOT)
    assert excinfo.value.lines == (
        "context: prefix: missing; set it in cdk.json or with -c prefix=NAME",
        "context: log_retention_days: missing; set it in cdk.json or with -c log_retention_days=DAYS",
    )


def test_spec_errors_are_printed_exactly(run_main):
    assert run_main(f"services_dir={rel(BAD_SPEC / 'services')}") == (1, BAD_SPEC_LINES)


def test_unacknowledged_lint_error_stops_synth(run_main):
    services = INPUTS / "lint_error" / "services"
    errors = [f for f in lint_catalog(load_catalog(services, FIXTURE_SIZES)) if f.severity == "error"]
    assert [f.rule for f in errors] == ["HC005"]  # start_period 45 < 1.5 x typical 50
    assert run_main(f"services_dir={rel(services)}") == (1, [str(f) for f in errors])


def test_python_app_py_subprocess(tmp_path, cdk_tools):
    """The script itself: exit 1, the exact lines, no traceback, and no cloud assembly written."""
    outdir = tmp_path / "cdk.out"
    proc = subprocess.run(
        [sys.executable, "app.py", "-c", f"services_dir={rel(BAD_SPEC / 'services')}"],
        cwd=ROOT,
        env=cdk_tools.tool_env(CDK_OUTDIR=str(outdir)),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == BAD_SPEC_LINES
    assert proc.stdout == ""
    assert not outdir.exists()


@pytest.mark.synth
def test_cdk_synth_cli_with_bad_input(tmp_path, cdk_tools):
    outdir = tmp_path / "cdk.out"
    proc = cdk_tools.run_cdk_synth(outdir, f"services_dir={rel(BAD_SPEC / 'services')}")
    assert proc.returncode != 0
    for line in BAD_SPEC_LINES:
        assert line in proc.stderr.splitlines()
    assert "Traceback" not in proc.stderr + proc.stdout
    assert not list(outdir.glob("*.template.json"))  # the CLI creates the folder; the app writes nothing


def test_a_task_definition_stack_overfilled_is_refused(run_main, tmp_path):
    """51 services x 4 sizes that hash to one bucket: over a stack's 200, refused with check's line."""
    _, names = write_bucket_overflow(tmp_path / "services")
    assert run_main(f"services_dir={tmp_path / 'services'}") == (
        1,
        [bucket_overflow_line(str(tmp_path / "services"), names)],
    )

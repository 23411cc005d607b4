"""Issue 9, items 1-8: bad input that used to get through, each refused by one rule with file:line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hubspec.loader import _validator, schema
from tests.catalogs import bucket_overflow_line, write_bucket_overflow


def _patterns(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
        return found + [p for child in node.values() for p in _patterns(child)]
    if isinstance(node, list):
        return [p for child in node for p in _patterns(child)]
    return []


# ---- 1. control characters and the end of a pattern -------------------------------------------


@pytest.mark.parametrize("name", ["service", "sizes"])
def test_every_schema_pattern_is_anchored_at_both_ends(name: str) -> None:
    """ECMA's `$` is the end of the string; the loader gives Python's search that meaning."""
    for pattern in _patterns(schema(name)):
        assert pattern.startswith("^") and pattern.endswith("$"), pattern


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("name",), "chat\n"),
        (("image",), "example/chat:1\n"),
        (("health_check", "endpoint"), "/health\n"),
        (("health_check", "custom_health_command"), "curl -f http://127.0.0.1:1/\n"),
    ],
)
def test_a_final_newline_does_not_pass_a_schema_pattern(path: tuple[str, ...], value: str) -> None:
    """Even without the control-character rule in front of it, the schema refuses a trailing newline."""
    doc: dict[str, Any] = {
        "name": "chat",
        "image": "example/chat:1",
        "sizes": ["small"],
        "health_check": {"interval": 15, "timeout": 10, "retries": 8, "start_period": 45},
    }
    target = doc
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    errors = list(_validator("service").iter_errors(doc))
    assert [tuple(e.absolute_path) for e in errors] == [path]
    assert errors[0].validator == "pattern"


def test_a_size_name_with_a_final_newline_does_not_pass() -> None:
    errors = list(_validator("sizes").iter_errors({"sizes": {"small\n": {"cpu": 256, "memory": 512}}}))
    assert [e.validator for e in errors] == ["pattern"]


# ---- 2. custom commands that cannot catch a broken server --------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        "curl -fsS -o /dev/null --max-time 9 http://127.0.0.1:8071/health || exit 1",
        "sh -c 'curl -fsS --max-time 9 http://127.0.0.1:8071/health' || exit 1",
        'curl -fsS --max-time 9 "http://127.0.0.1:8888${JUPYTERHUB_SERVICE_PREFIX%/}/health" || exit 1',
        'test "$(curl -fsS --max-time 9 http://127.0.0.1:8071/health)" = ok',
        "if curl -fsS -m 9 http://127.0.0.1:8071/health; then exit 0; else exit 1; fi",
        "exec curl -fo /dev/null -m9 http://127.0.0.1:8071/health",
        "timeout 9 curl -f http://127.0.0.1:8071/health",
        "curl -f --no-fail --fail -m 9 http://127.0.0.1:8071/health",
        "curl -sS --fail-with-body -m 9 http://127.0.0.1:8071/health | grep -q ok",
        "wget -q -O /dev/null -T 9 -t 1 http://127.0.0.1:8071/health || exit 1",
        "python3 -c 'import urllib.request; urllib.request.urlopen(\"http://127.0.0.1:8071/health\", timeout=9)'",
    ],
)
def test_commands_that_fail_on_a_broken_server_are_accepted(command: str) -> None:
    from hubspec.shellcmd import command_problems

    assert command_problems(command) == []


@pytest.mark.parametrize(
    ("args", "fails", "max_time", "urls"),
    [
        (["-fsS", "-m9", "http://a/"], True, 9.0, ["http://a/"]),
        (["-sSo", "-f", "http://a/"], False, None, ["http://a/"]),  # -o takes -f as its file name
        (["-H", "--fail", "http://a/"], False, None, ["http://a/"]),
        (["-f", "--no-fail", "http://a/"], False, None, ["http://a/"]),
        (["--url", "http://a/", "-f", "--max-time", "2.5"], True, 2.5, ["http://a/"]),
        (["-f", "--", "-x"], True, None, ["-x"]),
    ],
)
def test_curl_arguments_are_read_as_curl_reads_them(
    args: list[str], fails: bool, max_time: float | None, urls: list[str]
) -> None:
    from hubspec.shellcmd import parse_curl

    [call] = parse_curl(args)
    assert (call.fails_on_http_error, call.max_time, list(call.urls), call.problems) == (fails, max_time, urls, ())


def test_next_starts_a_transfer_with_fresh_options() -> None:
    from hubspec.shellcmd import parse_curl

    first, second = parse_curl(["-f", "http://a/", "--next", "http://b/"])
    assert (first.fails_on_http_error, second.fails_on_http_error) == (True, False)


def _promptly(command: str) -> list[str]:
    import signal

    from hubspec.shellcmd import command_problems

    def hang(*_: object) -> None:
        raise AssertionError("the shell parser hangs")

    previous = signal.signal(signal.SIGALRM, hang)
    signal.alarm(5)
    try:
        return command_problems(command)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_an_unclosed_parameter_expansion_is_a_parse_error_not_a_hang() -> None:
    """The old parser (bashlex 0.18) looped forever on `'${a'`; sh refuses an unquoted `${a` as it parses."""
    assert _promptly("curl -f http://127.0.0.1:1/${a || exit 1") == [
        "cannot be parsed as a shell line (unexpected EOF while looking for matching '}')"
    ]


def test_a_single_quoted_dollar_brace_is_answered_promptly_and_read_as_text() -> None:
    """Inside single quotes `${a` is plain text, as in sh (`sh -n` accepts the line): curl has -f, `|| exit 1` fails."""
    assert _promptly("curl -f http://127.0.0.1:1/'${a' || exit 1") == []


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        ("curl -fsS 'http://127.0.0.1:8071/health", 'unexpected EOF while looking for matching "\'"'),
        ('curl -fsS "http://127.0.0.1:8071/health', "unexpected EOF while looking for matching '\"'"),
        ("test `curl -fsS http://127.0.0.1:8071/health", "unexpected EOF while looking for matching '`'"),
        ("test $(curl -fsS http://127.0.0.1:8071/health", "unexpected EOF while looking for matching ')'"),
        ("(curl -fsS http://127.0.0.1:8071/health", "unexpected EOF while looking for matching ')'"),
        ("if curl -fsS http://127.0.0.1:8071/health; then exit 0", "unexpected EOF while looking for matching 'fi'"),
        ("curl -fsS http://127.0.0.1:8071/health ||", "unexpected EOF"),
        ("curl -fsS http://127.0.0.1:8071/health )", "unexpected token ')'"),
        ("curl -fsS http://127.0.0.1:8071/health;; exit 1", "unexpected token ';;'"),
        ("curl -fsS http://127.0.0.1:8071/health; fi", "unexpected token 'fi'"),
        ("curl -fsS http://127.0.0.1:8071/health | ! cat", "unexpected token '!'"),
    ],
)
def test_lines_sh_cannot_parse_are_refused(command: str, reason: str) -> None:
    """tree-sitter recovers from syntax errors; every ERROR or MISSING node is still a refusal."""
    from hubspec.shellcmd import command_problems, curl_calls

    assert command_problems(command) == [f"cannot be parsed as a shell line ({reason})"]
    assert curl_calls(command) is None


@pytest.mark.parametrize(
    "command",
    [
        "time curl -sS -m 9 http://127.0.0.1:8071/health",
        "case x in x) curl -sS -m 9 http://127.0.0.1:8071/health;; esac",
        "[[ $(curl -sS -m 9 http://127.0.0.1:8071/health) == ok ]]",
        "for ((i = 0; i < 3; i++)); do curl -sS -m 9 http://127.0.0.1:8071/health && exit 0; done; exit 1",
    ],
)
def test_curl_without_fail_is_found_in_bash_constructs(command: str) -> None:
    from hubspec.shellcmd import command_problems

    assert command_problems(command) == [
        "runs `curl -sS -m 9 http://127.0.0.1:8071/health` without -f/--fail, so it passes on HTTP 404/500; "
        "add -f (for example curl -fsS)"
    ]


def test_the_shell_grammar_loads_on_the_first_parse_not_on_import() -> None:
    import subprocess
    import sys

    code = (
        "import sys, hubspec, hubspec.loader, hubspec.health.lint, hubspec.shellcmd as c; "
        "assert not [m for m in sys.modules if m.startswith('tree_sitter')]; "
        "assert c.command_problems('curl -f http://127.0.0.1:1/ || exit 1') == []; "
        "assert 'tree_sitter_bash' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_line_nested_deeper_than_the_stack_is_refused() -> None:
    from hubspec.shellcmd import command_problems

    assert command_problems("echo " + "$(echo " * 400 + ")" * 400) == [
        "cannot be parsed as a shell line (it nests too deeply)"
    ]


# ---- 4 and 8. what synth refuses, `check` refuses first, with the same lines --------------------

EXAMPLES = Path(__file__).parent / "examples"


def _check(capsys: pytest.CaptureFixture[str], services: Path, sizes: Path) -> tuple[int, list[str]]:
    from hubspec.cli import main

    status = main(["check", "--services-dir", str(services), "--sizes-file", str(sizes)])
    return status, capsys.readouterr().err.splitlines()


def test_check_refuses_name_collisions_with_the_loader_lines(capsys, monkeypatch) -> None:
    case = EXAMPLES / "bad" / "name_collisions"
    monkeypatch.chdir(case)
    status, err = _check(capsys, Path("services"), Path("sizes.yaml"))
    expected = (case / "expected.txt").read_text().splitlines()
    assert (status, err) == (1, expected + [f"{len(expected)} spec error(s)"])


def test_check_refuses_a_task_definition_stack_overfilled(capsys, monkeypatch, tmp_path) -> None:
    """51 services x 4 sizes in one hash bucket: `check` says so, as synth does (tests/cdk/test_app_errors.py)."""
    monkeypatch.chdir(tmp_path)
    _, names = write_bucket_overflow(tmp_path / "services")
    status, err = _check(capsys, Path("services"), EXAMPLES / "sizes.yaml")
    assert (status, err) == (1, [bucket_overflow_line("services", names), "1 spec error(s)"])


def test_a_thousand_task_definitions_over_the_buckets_pass_check(capsys, monkeypatch, tmp_path) -> None:
    """250 services x 4 sizes: more than one stack holds, spread over the buckets, so nothing is refused."""
    monkeypatch.chdir(tmp_path)
    services = tmp_path / "services"
    services.mkdir()
    for i in range(250):
        (services / f"s{i:03d}.yaml").write_text(
            f"name: s{i:03d}\nimage: example/s:1\nsizes: [small, medium, large, xlarge]\n"
            "health_check: {interval: 10, timeout: 5, retries: 6, start_period: 45}\n"
        )
    status, err = _check(capsys, Path("services"), EXAMPLES / "sizes.yaml")
    assert status == 0, err[:3]


# ---- 5. every entry of the services folder is loaded, refused or reported ----------------------

VALID_SERVICE = (
    "name: {name}\nimage: example/{name}:1\nsizes: [small]\n"
    "health_check: {{interval: 15, timeout: 10, retries: 8, start_period: 45}}\n"
)


def test_yml_and_upper_case_suffixes_load_and_other_entries_are_warnings(load_case) -> None:
    catalog = load_case(EXAMPLES / "good" / "yml_and_others")
    assert [s.name for s in catalog.services] == ["chat", "lab"]
    assert catalog.warnings == (
        "services/.chat.yml.swp:1: $: warning: hidden file is not a service file (*.yaml or *.yml); ignored",
        "services/drafts:1: $: warning: directory is not a service file (*.yaml or *.yml); ignored",
        "services/notes.md:1: $: warning: file is not a service file (*.yaml or *.yml); ignored",
    )


def test_check_prints_the_warnings_and_strict_fails_on_them(capsys, monkeypatch) -> None:
    from hubspec.cli import main

    monkeypatch.chdir(EXAMPLES / "good" / "yml_and_others")
    args = ["check", "--services-dir", "services", "--sizes-file", "../../sizes.yaml"]
    assert main(args) == 0
    out = capsys.readouterr().out.splitlines()
    assert "services/notes.md:1: $: warning: file is not a service file (*.yaml or *.yml); ignored" in out
    assert out[-1].endswith("; 3 folder entry(ies) ignored")
    assert main([*args, "--strict"]) == 1


def test_a_fifo_named_like_a_service_file_is_an_error_not_a_hang(tmp_path, monkeypatch) -> None:
    import os

    from hubspec import SpecErrors, load_catalog

    monkeypatch.chdir(tmp_path)
    (tmp_path / "services").mkdir()
    (tmp_path / "services" / "chat.yaml").write_text(VALID_SERVICE.format(name="chat"))
    os.mkfifo(tmp_path / "services" / "pipe.yaml")
    with pytest.raises(SpecErrors) as excinfo:
        load_catalog(Path("services"), EXAMPLES / "sizes.yaml")
    assert excinfo.value.lines() == ["services/pipe.yaml:1: $: is a named pipe (FIFO), not a regular file"]


# ---- 6. resource exhaustion ---------------------------------------------------------------------


def test_sizes_file_dev_zero_is_a_clear_error(tmp_path, monkeypatch) -> None:
    from hubspec import SpecErrors, load_catalog

    monkeypatch.chdir(tmp_path)
    (tmp_path / "services").mkdir()
    (tmp_path / "services" / "chat.yaml").write_text(VALID_SERVICE.format(name="chat"))
    with pytest.raises(SpecErrors) as excinfo:
        load_catalog(Path("services"), Path("/dev/zero"))
    assert excinfo.value.lines() == ["/dev/zero:1: $: is a character device, not a regular file"]


def test_a_ten_megabyte_file_is_refused_before_it_is_parsed(tmp_path, monkeypatch) -> None:
    from hubspec import SpecErrors, load_catalog
    from hubspec.yamlsource import MAX_FILE_BYTES

    monkeypatch.chdir(tmp_path)
    (tmp_path / "services").mkdir()
    big = VALID_SERVICE.format(name="big") + "".join(f"unknown{i}: {i}\n" for i in range(700_000))
    (tmp_path / "services" / "big.yaml").write_text(big)
    with pytest.raises(SpecErrors) as excinfo:
        load_catalog(Path("services"), EXAMPLES / "sizes.yaml")
    size = len(big.encode())
    assert size > 10_000_000
    assert excinfo.value.lines() == [
        f"services/big.yaml:1: $: file is {size} bytes; a spec file may have at most {MAX_FILE_BYTES}"
    ]


def test_at_most_fifty_errors_are_printed_then_how_many_more(load_case) -> None:
    from hubspec import SpecErrors

    with pytest.raises(SpecErrors) as excinfo:
        load_case(EXAMPLES / "bad" / "resource_limits")
    assert len(excinfo.value.errors) == 62
    assert len(excinfo.value.lines()) == 51 and excinfo.value.lines()[-1] == "… and 12 more"


# ---- 7. HC010: every spelling of "this container" -----------------------------------------------


@pytest.mark.parametrize(
    ("command", "ports"),
    [
        ("curl -f -m 9 http://127.0.0.1:3000/health", [3000]),
        ("curl -f -m 9 http://127.1.2.3:3000/health", [3000]),
        ("curl -f -m 9 http://0.0.0.0:3000/health", [3000]),
        ("curl -f -m 9 http://[::1]:3000/health", [3000]),
        ("curl -f -m 9 http://[::]:3000/health", [3000]),
        ("curl -f -m 9 http://[::ffff:127.0.0.1]:3000/health", [3000]),
        ("curl -f -m 9 http://LOCALHOST.:3000/health", [3000]),
        ("curl -f -m 9 http://127.1:3000/health", [3000]),
        ("curl -f -m 9 http://0:3000/health", [3000]),
        ("curl -f -m 9 localhost:3000/health", [3000]),
        ("curl -f -m 9 http://user@127.0.0.1:3000/health", [3000]),
        ("sh -c 'curl -f -m 9 http://[::1]:3000/'", [3000]),
        ("python3 -c \"import urllib.request as u; u.urlopen('http://[::1]:3000/health')\"", [3000]),
        ('curl -f -m 9 "http://127.0.0.1:3000${JUPYTERHUB_SERVICE_PREFIX}health"', [3000]),
        ("curl -f -m 9 http://127.0.0.1:${PORT}/health", []),
        ("curl -f -m 9 http://example.com:3000/health", []),
    ],
)
def test_probe_ports_reads_every_loopback_spelling(command: str, ports: list[int]) -> None:
    from hubspec.health.lint import probe_ports

    assert probe_ports(command) == ports

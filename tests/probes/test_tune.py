"""`tune`: samples in, a guideline-following proposal and a minimal, validated YAML edit out."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from hubspec import SpecErrors, load_catalog
from hubspec.cli import main
from hubspec.health.tune import StartupStats, apply_values, propose, read_samples
from tests.catalogs import FIXTURE_SIZES

# A service file with comments in every position a person puts them, and mixed layout.
COMMENTED = """\
# yaml-language-server: $schema=../hubspec/schemas/service.schema.json
# Header comment: what this service is.
name: web   # same-line comment after a scalar
description: "quoted, with: colon"
image: example/web:1
port: 8888
sizes:
  - small   # block sequence, indented dash
  - medium
default_size: small

# The probe: a comment block that introduces health_check.
health_check:
  endpoint: /health
  # before interval
  interval: 15   # seconds
  timeout: 10
  retries: 3     # too few
  start_period: 45
  custom_health_command: curl -fsS -o /dev/null --max-time 9 http://127.0.0.1:8888/health/and/a/rather/long/path/that/a/dumper/might/wrap || exit 1
# trailing comment at the end of the file
"""


def _tree(tmp_path: Path, text: str = COMMENTED, name: str = "web") -> Path:
    services = tmp_path / "services"
    services.mkdir(exist_ok=True)
    (services / f"{name}.yaml").write_text(text)
    (services / "other.yaml").write_text(
        "name: other\nimage: x/y:1\nsizes: [small]\nhealth_check:\n"
        "  interval: 30\n  timeout: 5\n  retries: 3\n  start_period: 0\n"
    )
    return services


def _samples(tmp_path: Path, text: str, name: str = "samples.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _tune(services: Path, *argv: str) -> int:
    return main(["tune", *argv, "--services-dir", str(services), "--sizes-file", str(FIXTURE_SIZES)])


def _spec(services: Path, name: str = "web"):
    return load_catalog(services, FIXTURE_SIZES).service(name)


# --- samples -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "column", "expected"),
    [
        ("30\n31.5\n29\n", None, (30.0, 31.5, 29.0)),
        ("seconds\n30\n\n# a restart we ignore\n40\n", None, (30.0, 40.0)),
        ("task,seconds,ok\na,30,1\nb,41.5,1\n", "seconds", (30.0, 41.5)),
        ("a,30,1\nb,41.5,1\n", "2", (30.0, 41.5)),
        ("task,seconds\na,30\n", "2", (30.0,)),
    ],
)
def test_csv_samples(tmp_path, text, column, expected):
    assert read_samples(_samples(tmp_path, text), column=column) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[30, 31.5, 2e1]", (30.0, 31.5, 20.0)),
        ('{"samples": [12, 13],\n "source": "cloudwatch"}', (12.0, 13.0)),
    ],
)
def test_json_samples(tmp_path, text, expected):
    assert read_samples(_samples(tmp_path, text, "s.json")) == expected


@pytest.mark.parametrize(
    ("text", "column", "errors"),
    [
        (
            "seconds\n30\nabc\n-4\n\n0\n",
            None,
            [
                "samples.csv:3: seconds: 'abc' is not a number of seconds",
                "samples.csv:4: seconds: -4: expected a start-up time in seconds greater than 0",
                "samples.csv:6: seconds: 0: expected a start-up time in seconds greater than 0",
            ],
        ),
        ("task,seconds\na,30\nb\n", "seconds", ["samples.csv:3: seconds: missing value"]),
        (
            "task,seconds\na,30\n",
            None,
            ["samples.csv:1: $: 2 columns (task, seconds); choose one with --column NAME or --column NUMBER (1-based)"],
        ),
        ("task,seconds\na,30\n", "secs", ["samples.csv:1: $: no column 'secs'; columns: task, seconds"]),
        ("# nothing yet\n\n", None, ["samples.csv:1: $: no samples: expected one start-up time in seconds per start"]),
        (
            "30\ninf\nnan\n",
            None,
            [
                "samples.csv:2: samples: inf: expected a start-up time in seconds greater than 0",
                "samples.csv:3: samples: nan: expected a start-up time in seconds greater than 0",
            ],
        ),
    ],
)
def test_bad_csv_samples_list_every_error_with_its_line(tmp_path, monkeypatch, text, column, errors):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SpecErrors) as excinfo:
        read_samples(Path(_samples(tmp_path, text).name), column=column)
    assert excinfo.value.lines() == errors


@pytest.mark.parametrize(
    ("text", "errors"),
    [
        (
            '{"samples": [30,\n  "40",\n  true, 12]}',
            [
                "s.json:2: samples[1]: '40' is not a number of seconds",
                "s.json:3: samples[2]: True is not a number of seconds",
            ],
        ),
        ("[30,\n 31,\n]", ["s.json:3: $: invalid JSON: Expecting value (column 1)"]),
        ('{"starts": [30]}', ['s.json:1: $: expected a list of numbers or {"samples": [numbers]}']),
        ("[\n 1,\n -2\n]", ["s.json:3: [1]: -2: expected a start-up time in seconds greater than 0"]),
    ],
)
def test_bad_json_samples_name_line_and_element(tmp_path, monkeypatch, text, errors):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SpecErrors) as excinfo:
        read_samples(Path(_samples(tmp_path, text, "s.json").name))
    assert excinfo.value.lines() == errors


def test_bad_samples_exit_1_without_traceback_and_write_nothing(tmp_path, capsys):
    services = _tree(tmp_path)
    before = (services / "web.yaml").read_text()
    assert _tune(services, "web", "--samples", str(_samples(tmp_path, "30\nfast\n")), "--write") == 1
    err = capsys.readouterr().err
    assert "samples.csv:2: samples: 'fast' is not a number of seconds" in err and "Traceback" not in err
    assert (services / "web.yaml").read_text() == before


# --- statistics and rules ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("samples", "median", "p95"),
    [
        (range(1, 21), 10.5, 19.0),  # nearest rank: ceil(0.95 × 20) = 19th
        (range(1, 101), 50.5, 95.0),
        ([30, 40, 35], 35.0, 40.0),  # fewer than 20: the slowest start
        ([30.66], 30.7, 30.7),  # written with one decimal
    ],
)
def test_startup_statistics(samples, median, p95):
    stats = StartupStats.of([float(s) for s in samples])
    assert (stats.median, stats.p95) == (median, p95)


def _values(tmp_path, text: str, samples) -> dict:
    return {".".join(c.path): (c.old, c.new) for c in propose(_spec(_tree(tmp_path, text)), samples).changes}


def _hc(interval=15, timeout=10, retries=8, start_period=45, efs=False) -> str:
    return (
        "name: web\nimage: x/y:1\nsizes: [small]\n"
        + ("efs: {mount_path: /home/jovyan, per_user: true}\n" if efs else "")
        + "health_check:\n"
        f"  interval: {interval}\n  timeout: {timeout}\n  retries: {retries}\n  start_period: {start_period}\n"
    )


def test_start_period_is_ceil_p95_times_1_5_of_the_written_p95(tmp_path):
    values = _values(tmp_path, _hc(), [30.66] * 20)
    assert values["startup_seconds.p95"] == (None, 30.7)
    assert values["health_check.start_period"] == (45, 47)  # ceil(46.05): lint compares with 30.7, not 30.66


def test_start_period_is_clamped_to_300_and_said_so(tmp_path):
    proposal = propose(_spec(_tree(tmp_path, _hc())), [250.0] * 30)
    assert proposal.clamped and proposal.values()[("health_check", "start_period")] == 300
    assert any("375 s exceeds the ECS maximum start_period 300 s" in n for n in proposal.notes)


@pytest.mark.parametrize(
    ("interval", "timeout", "efs", "expected"),
    [
        (15, 10, False, 10),  # within 5..14: kept
        (15, 15, False, 14),  # must stay below the interval
        (30, 3, False, 5),  # at least 5 s
        (30, 5, True, 10),  # EFS-backed: at least 10 s
        (120, 60, False, 60),  # kept at the ECS maximum
    ],
)
def test_timeout_rule(tmp_path, interval, timeout, efs, expected):
    values = _values(tmp_path, _hc(interval=interval, timeout=timeout, efs=efs), [20.0] * 20)
    assert values["health_check.timeout"][1] == expected


@pytest.mark.parametrize(
    ("interval", "retries", "expected", "note"),
    [
        (15, 8, 8, False),  # 120 s: kept
        (15, 3, 8, False),  # 45 s and risky: 8 (120 s)
        (10, 10, 10, False),  # 100 s: kept
        (20, 8, 6, False),  # 160 s: 6 (120 s) is the closest to 8 inside the window
        (30, 8, 8, True),  # 240 s and nothing in 5..10 fits: kept, with a note
        (30, 3, 5, True),  # nothing fits: at least 5
    ],
)
def test_retries_rule(tmp_path, interval, retries, expected, note):
    proposal = propose(_spec(_tree(tmp_path, _hc(interval=interval, timeout=5, retries=retries))), [20.0] * 20)
    assert {c.path[-1]: c.new for c in proposal.changes}["retries"] == expected
    assert any("an interval of 6-24 s would" in n for n in proposal.notes) is note


# --- the YAML edit -----------------------------------------------------------------------------


def _comments(text: str) -> list[str]:
    return [line[line.index("#") :] for line in text.splitlines() if "#" in line and "http" not in line]


def test_edit_changes_only_the_values_and_keeps_every_comment():
    values = {
        ("health_check", "start_period"): 63,
        ("health_check", "retries"): 8,
        ("startup_seconds", "typical"): 31.5,
        ("startup_seconds", "p95"): 42,
    }
    new = apply_values(COMMENTED, values)
    assert _comments(new) == _comments(COMMENTED)
    old_lines, new_lines = COMMENTED.splitlines(), new.splitlines()
    assert [line for line in new_lines if line not in old_lines] == [
        "startup_seconds:",
        "  typical: 31.5",
        "  p95: 42",
        "  retries: 8     # too few",
        "  start_period: 63",
    ]
    assert [line for line in old_lines if line not in new_lines] == ["  retries: 3     # too few", "  start_period: 45"]
    # the new section goes above the comment block that introduces health_check
    assert new.index("startup_seconds:") < new.index("# The probe:") < new.index("health_check:")
    data = YAML(typ="safe").load(new)
    assert data["startup_seconds"] == {"typical": 31.5, "p95": 42}
    assert data["health_check"]["retries"] == 8 and data["sizes"] == ["small", "medium"]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("startup_seconds: {typical: 30}\n", "startup_seconds: {typical: 31.5, p95: 42}\n"),
        ("startup_seconds:\n    typical: 30   # old\n", "startup_seconds:\n    typical: 31.5   # old\n    p95: 42\n"),
        ("startup_seconds:\n  p95: 50\n", "startup_seconds:\n  p95: 42\n  typical: 31.5\n"),
    ],
)
def test_edit_fills_in_an_existing_startup_section(before, after):
    text = "name: web\n" + before + "health_check: {interval: 15, timeout: 10, retries: 3, start_period: 45}\n"
    new = apply_values(
        text, {("startup_seconds", "typical"): 31.5, ("startup_seconds", "p95"): 42, ("health_check", "retries"): 8}
    )
    assert new == ("name: web\n" + after + "health_check: {interval: 15, timeout: 10, retries: 8, start_period: 45}\n")


def test_edit_keeps_crlf_and_a_missing_final_newline():
    text = "name: web\r\nhealth_check:\r\n  retries: 3\r\n  start_period: 45"
    new = apply_values(text, {("health_check", "start_period"): 60, ("startup_seconds", "p95"): 40})
    assert (
        new == "name: web\r\nstartup_seconds:\r\n  p95: 40\r\nhealth_check:\r\n  retries: 3\r\n  start_period: 60\r\n"
    )


# --- the command -------------------------------------------------------------------------------

SAMPLES = "seconds\n" + "\n".join(str(30 + i % 13) for i in range(40)) + "\n"  # 30..42 s, P95 42


def test_dry_run_prints_the_proposal_and_a_unified_diff_and_writes_nothing(tmp_path, capsys):
    services = _tree(tmp_path)
    before = (services / "web.yaml").read_text()
    assert _tune(services, "web", "--samples", str(_samples(tmp_path, SAMPLES))) == 0
    out = capsys.readouterr().out
    assert re.search(r"health_check\.start_period\s+45 -> 63\s+ceil\(P95 42 s × 1\.5\) = 63 s", out), out
    assert re.search(r"health_check\.retries\s+3 -> 8\s+window 15 s × 8 = 120 s", out), out
    assert "-  start_period: 45\n" in out and "+  start_period: 63\n" in out
    assert f"--- {services / 'web.yaml'}\n+++ {services / 'web.yaml'} (tuned)\n" in out
    assert "(dry run: pass --write to apply)" in out
    assert (services / "web.yaml").read_text() == before


def test_write_edits_in_place_keeps_comments_and_loads(tmp_path, capsys):
    services = _tree(tmp_path)
    assert _tune(services, "web", "--samples", str(_samples(tmp_path, SAMPLES)), "--write") == 0
    assert "wrote " in capsys.readouterr().out
    text = (services / "web.yaml").read_text()
    assert _comments(text) == _comments(COMMENTED)
    spec = _spec(services)
    hc = spec.health_check
    assert (hc.start_period, hc.timeout, hc.retries, spec.startup_typical, spec.startup_p95) == (63, 10, 8, 36, 42)
    assert sorted(p.name for p in services.iterdir()) == ["other.yaml", "web.yaml"]  # no temp file left
    # a second run finds nothing to do and leaves the file alone
    assert _tune(services, "web", "--samples", str(_samples(tmp_path, SAMPLES)), "--write") == 0
    assert "already matches the proposal" in capsys.readouterr().out
    assert (services / "web.yaml").read_text() == text


def test_write_refuses_a_result_with_lint_errors(tmp_path, capsys):
    """P95 250 s: start_period clamps at 300 < 1.5 × 250, which lint HC005 rejects: nothing written."""
    services = _tree(tmp_path)
    before = (services / "web.yaml").read_text()
    assert _tune(services, "web", "--samples", str(_samples(tmp_path, "250\n" * 30)), "--write") == 1
    captured = capsys.readouterr()
    assert "clamped to the ECS maximum 300 s" in captured.out and "HC005" in captured.out
    assert "nothing written" in captured.err
    assert (services / "web.yaml").read_text() == before


def test_write_refuses_a_result_that_does_not_validate(tmp_path, capsys):
    """A start-up over an hour is beyond the schema's startup_seconds range: the loader's own error."""
    services = _tree(tmp_path)
    before = (services / "web.yaml").read_text()
    assert _tune(services, "web", "--samples", str(_samples(tmp_path, "4000\n")), "--write") == 1
    err = capsys.readouterr().err
    assert "nothing written" in err
    assert re.search(rf"{re.escape(str(services / 'web.yaml'))}:\d+: startup_seconds\.p95: 4000", err), err
    assert (services / "web.yaml").read_text() == before


def test_unknown_service_and_invalid_catalog(tmp_path, capsys):
    services = _tree(tmp_path)
    samples = str(_samples(tmp_path, "30\n"))
    assert _tune(services, "nope", "--samples", samples) == 2
    assert "unknown service 'nope'" in capsys.readouterr().err
    (services / "other.yaml").write_text("name: other\n")
    assert _tune(services, "web", "--samples", samples) == 1
    assert "other.yaml:1: $: missing required key 'image'" in capsys.readouterr().err


def test_help_states_the_rules(capsys):
    assert main(["tune", "--help"]) == 0
    text = capsys.readouterr().out
    for needle in (
        "ceil(P95 x 1.5)",
        "nearest rank",
        "0-300 s",
        "timeout < interval",
        "60-120 s",
        "closest to 8",
        "--write",
        "exit status",
        "--column",
    ):
        assert needle in text, needle

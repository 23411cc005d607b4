"""`python -m hubspec`: exit codes, output and help, in-process (fast) and as a real subprocess."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hubspec import cli

CLEAN = """\
name: svc
image: example/svc:1
sizes: [small]
health_check:
  interval: 15
  timeout: 10
  retries: 5
  start_period: 45
"""
WARNS = CLEAN.replace("retries: 5", "retries: 8")  # HC007: 240 s worst case
ERRORS = "startup_seconds:\n  typical: 40\n" + CLEAN  # HC005: 45 < 60


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def spec_args(services_dir, sizes_file):
    def make(text: str) -> list[str]:
        return ["--services-dir", str(services_dir("svc", text)), "--sizes-file", str(sizes_file)]

    return make


def test_check_clean_exits_0(capsys, spec_args):
    code, out, err = run(capsys, "check", *spec_args(CLEAN))
    assert code == 0 and err == ""
    assert out.strip() == "1 service(s) (svc): 0 error(s), 0 warning(s)"


def test_check_warnings_exit_0_unless_strict(capsys, spec_args):
    args = spec_args(WARNS)
    code, out, _ = run(capsys, "check", *args)
    assert code == 0 and "warning HC007" in out and out.endswith("0 error(s), 1 warning(s)\n")
    assert run(capsys, "check", "--strict", *args)[0] == 1


def test_check_acknowledged_warning_does_not_fail_strict(capsys, spec_args):
    text = WARNS + "lint_acknowledge:\n  - rule: HC007\n    reason: hangs are rare here\n    accepts: 222-240 s\n"
    code, out, _ = run(capsys, "check", "--strict", *spec_args(text))
    assert code == 0 and "[acknowledged: hangs are rare here]" in out
    assert out.endswith("0 error(s), 0 warning(s), 1 acknowledged\n")


def _labels_and_summary(out: str) -> tuple[dict[str, int], dict[str, int]]:
    labels = {"error": 0, "warning": 0, "acknowledged": 0}
    for line in out.splitlines()[:-1]:
        m = re.match(r"^\S+:\d+: \S+: (error|warning|acknowledged) HC\d{3}: ", line)
        if m:
            labels[m[1]] += 1
    summary = out.splitlines()[-1]
    counts = {k: int(n) for n, k in re.findall(r"(\d+) (error|warning|acknowledged)", summary)}
    counts.setdefault("acknowledged", 0)
    return labels, counts


def test_check_labels_agree_with_the_summary(capsys, spec_args):
    """Issue 13 (e): an acknowledged finding is labelled "acknowledged", never "warning"."""
    acked = WARNS + "lint_acknowledge:\n  - rule: HC007\n    reason: hangs are rare here\n    accepts: 222–240 s\n"
    for text in (acked, WARNS, ERRORS):
        _, out, _ = run(capsys, "check", *spec_args(text))
        labels, counts = _labels_and_summary(out)
        assert labels == counts and sum(labels.values()) > 0, out
    _, out, _ = run(capsys, "check", *spec_args(acked))
    assert ": acknowledged HC007: " in out and " warning HC007" not in out


def test_acknowledgement_goes_stale_when_its_numbers_change(capsys, spec_args):
    """Issue 13 (c): interval 15 -> 20 moves HC007 from 222–240 s; the old acknowledgement no longer applies."""
    ack = "lint_acknowledge:\n  - rule: HC007\n    reason: hangs are rare here\n    accepts: 222-240 s\n"
    code, out, _ = run(capsys, "check", "--strict", *spec_args(WARNS + ack))
    assert code == 0 and "HC102" not in out
    moved = WARNS.replace("interval: 15", "interval: 20") + ack
    code, out, _ = run(capsys, "check", "--strict", *spec_args(moved))
    assert code == 1
    assert ": warning HC007: " in out  # open again
    stale = next(line for line in out.splitlines() if " HC102: " in line)
    assert "svc.yaml:12: lint_acknowledge[0].accepts: warning HC102: HC007 now measures 257–261 s" in stale
    assert "but this acknowledgement accepts '222-240 s'" in stale
    assert out.endswith("0 error(s), 3 warning(s)\n")  # with HC006: 20 × 8 = 160 s


def test_check_lint_error_exits_1(capsys, spec_args):
    code, out, _ = run(capsys, "check", *spec_args(ERRORS))
    assert code == 1
    assert "svc.yaml:10: health_check.start_period: error HC005" in out


def test_spec_errors_go_to_stderr_without_traceback(capsys, spec_args):
    code, out, err = run(capsys, "report", *spec_args(CLEAN.replace("retries: 5", "retries: 11")))
    assert code == 1 and out == ""
    assert err.splitlines()[0].endswith("svc.yaml:7: health_check.retries: 11 is greater than the maximum of 10")
    assert err.splitlines()[-1] == "1 spec error(s)" and "Traceback" not in err


def test_options_work_before_and_after_the_command(capsys, spec_args):
    args = spec_args(ERRORS)
    assert run(capsys, *args, "check")[0] == 1
    assert run(capsys, "check", *args)[0] == 1


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["nope"],
        ["check", "--bogus"],
        ["timeline"],
        ["report", "--format", "xml"],
        ["timeline", "chat", "--ready-at", "-3"],
        ["timeline", "chat", "--ready-at", "3", "--never-ready", "hangs"],
    ],
)
def test_usage_errors_exit_2(capsys, argv):
    assert run(capsys, *argv)[0] == 2


def test_unknown_service_is_a_usage_error(capsys):
    code, _, err = run(capsys, "timeline", "nope")
    assert code == 2 and "unknown service 'nope'; known: chat, lab, waiide" in err


def test_help_everywhere(capsys):
    commands = [c for c in cli.build_parser()._subparsers._group_actions[0].choices]
    assert {"check", "report", "timeline"} <= set(commands)
    for argv in [["--help"]] + [[c, "--help"] for c in commands]:
        code, out, _ = run(capsys, *argv)
        assert code == 0 and out.startswith("usage: hubspec"), argv


def test_report_json_matches_the_simulation(capsys, spec_args):
    code, out, _ = run(capsys, "report", "--format", "json", *spec_args(WARNS))
    assert code == 0
    svc = json.loads(out)["services"][0]
    # I 15 T 10 R 8 S 45 (chat's numbers): see test_timing.TestChat.
    assert svc["profiles"]["classic"]["unhealthy_hang"] == 240
    assert svc["profiles"]["start-interval"]["unhealthy_hang"] == 222
    assert svc["fargate_range"]["unhealthy_hang"] == [222, 240]
    assert svc["give_up"] == 9
    assert svc["fargate_range"]["earliest_healthy"] == [5, 15]
    assert svc["notes_estimate"] == 165
    assert [f["rule"] for f in svc["findings"]] == ["HC007"]
    assert svc["command"][0] == "CMD-SHELL" and "--max-time 9" in svc["command"][1]


def test_report_markdown_row_per_service_and_size(capsys, spec_args):
    _, out, _ = run(capsys, "report", *spec_args(WARNS))
    rows = [line for line in out.splitlines() if line.startswith("| svc |")]
    assert rows == [
        "| svc | small | 512 / 2048 | 8888 → 8888 | CMD-SHELL `curl -fsS -o /dev/null --max-time 9 "
        "http://127.0.0.1:8888/health \\|\\| exit 1` | 15 / 10 / 8 / 45 | 5–15 | 150 / 222–240 | "
        "120 / 192 | 165 | HC007 (warning) |"
    ]
    assert "| UNHEALTHY if never ready, probes hang | 240 | 222 | 222–240 | 165 |" in out


def test_timeline_chat_classic(capsys):
    code, out, _ = run(capsys, "timeline", "chat", "--profile", "classic", "--ready-at", "20")
    assert code == 0
    # Probe at 15 is refused and does not count; the probe at 30 finds the server up.
    assert " 0s  container starts; status starting (ECS: UNKNOWN)\n" in out
    assert "15s  probe #1: failed (refused); not counted: started inside start_period (15 < 45)" in out
    assert "20s  server answers (probes pass)\n30s  probe #2: passed → HEALTHY\n" in out
    assert out.endswith("\n\nfirst HEALTHY: classic 30 s\n")


def test_timeline_failure_after_healthy_gives_range(capsys):
    code, out, _ = run(capsys, "timeline", "lab", "--ready-at", "0", "--fail-at", "100", "--fail-mode", "hangs")
    assert code == 0
    # Classic: healthy probes at 30, 60, 90; broken at 100 -> hanging rounds of 30 + 19 (the probe
    # gives up after 19 s) from 120: the 8th starts at 463, ends 482. Start-interval: 5, 35, 65, 95,
    # then 125 ... 468 ends 487.
    assert (
        "first UNHEALTHY: classic 482 s; start-interval 487 s (classic 382 s after the failure; "
        "start-interval 387 s after the failure)" in out
    )
    assert "  Fargate (engine undocumented): 482–487 s" in out


def test_missing_plugin_is_skipped_and_present_plugin_registers(capsys, monkeypatch, tmp_path):
    plugin = tmp_path / "toolkit_demo_plugin.py"
    plugin.write_text(
        "def add_parser(subparsers):\n"
        "    p = subparsers.add_parser('demo', help='demo command')\n"
        "    p.add_argument('--code', type=int, default=0)\n"
        "    p.set_defaults(func=lambda args: args.code)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(cli, "PLUGINS", ("hubspec.not_written_yet", "toolkit_demo_plugin"))
    assert run(capsys, "demo", "--code", "3")[0] == 3
    assert run(capsys, "demo", "--help")[0] == 0


def test_broken_plugin_is_not_hidden(monkeypatch, tmp_path):
    (tmp_path / "toolkit_broken_plugin.py").write_text("import no_such_module_anywhere\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(cli, "PLUGINS", ("toolkit_broken_plugin",))
    with pytest.raises(ModuleNotFoundError, match="no_such_module_anywhere"):
        cli.build_parser()


def test_real_subprocess(repo: Path, tmp_path):
    """The module entry point, as a user runs it: exit codes and streams (two runs: each start costs seconds)."""

    def python_m(*argv):
        return subprocess.run(
            [sys.executable, "-m", "hubspec", *argv], cwd=repo, capture_output=True, text=True, timeout=120
        )

    done = python_m("frobnicate")
    assert done.returncode == 2 and "invalid choice: 'frobnicate'" in done.stderr and done.stdout == ""
    bad = tmp_path / "services"
    bad.mkdir()
    (bad / "x.yaml").write_text("name: [unclosed\n")
    done = python_m("check", "--services-dir", str(bad))
    assert done.returncode == 1 and done.stdout == ""
    assert "x.yaml:2: $: invalid YAML" in done.stderr and "Traceback" not in done.stderr


def test_report_probe_duration(capsys, spec_args):
    args = spec_args(WARNS)
    code, out, _ = run(capsys, "report", "--format", "json", "--probe-seconds", "2", *args)
    svc = json.loads(out)["services"][0]
    # d = 2: classic HEALTHY at I + d = 17, start-interval at 5 + 2 = 7; worst fast detection 2 + 15 + 7 × 15.
    assert code == 0 and svc["fargate_range"]["earliest_healthy"] == [7, 17]
    assert svc["profiles"]["classic"]["detect_fast"] == [105, 122]
    code, _, err = run(capsys, "report", "--probe-seconds", "11", *args)
    assert code == 2 and "a passing probe cannot take 11 s: the probe gives up after 9 s" in err


@pytest.mark.parametrize("seconds", ["9", "9.5", "20"])
def test_probe_seconds_validated_the_same_in_timeline_and_report(capsys, spec_args, seconds):
    """Issue 13 (a, b): curl --max-time 9 fails a 9.5 s answer; timeline and report refuse it alike."""
    args = spec_args(WARNS)
    for command in (["report"], ["timeline", "svc"]):
        code, out, err = run(capsys, *command, "--probe-seconds", seconds, *args)
        assert code == 2 and out == "", command
        assert f"a passing probe cannot take {seconds} s: the probe gives up after 9 s (timeout 10 s)" in err
    code, _, _ = run(capsys, "timeline", "svc", "--probe-seconds", "8.5", *args)
    assert code == 0


def test_timeline_stops_at_unhealthy(capsys, spec_args):
    """Issue 13 (b): a server that is not ready before UNHEALTHY ends the run there, with its time."""
    code, out, _ = run(capsys, "timeline", "svc", "--profile", "classic", "--ready-at", "400", *spec_args(WARNS))
    assert code == 0
    assert "counted failure 8/8 → UNHEALTHY" in out and "9/8" not in out
    assert "server answers (probes pass)" not in out  # the run ended at 150 s, before the server came up at 400 s
    assert out.rstrip().splitlines()[-1] == "first UNHEALTHY: classic 150 s"


def test_timeline_flapping(capsys):
    # chat, classic: probe at 15 passes (HEALTHY), then every 15 s. Down from 60 to 100, 160 to 200,
    # 260 to 300: the probes at 60, 75, 90 fail (3 counted), 105 passes and resets the streak;
    # 165, 180, 195 fail, 210 passes; 270, 285 fail, 300 passes. Never 8 in a row: stays HEALTHY.
    code, out, _ = run(capsys, "timeline", "chat", "--profile", "classic", "--flap", "60", "40", "--until", "300")
    assert code == 0
    assert (
        " 90s  probe #6: failed (refused); counted failure 3/8\n100s  server answers (probes pass)\n105s  probe #7: passed\n"
        in out
    )
    assert "counted failure 4/8" not in out
    assert out.endswith("first HEALTHY: classic 15 s\nnever UNHEALTHY within 300 s\n")


# ---- check --format ----------------------------------------------------------------------------


def test_check_formats_share_one_result_and_exit_code(capsys, spec_args):
    args = spec_args(ERRORS)
    code, text, _ = run(capsys, "check", *args)
    code_json, out, _ = run(capsys, "check", "--format", "json", *args)
    code_gh, gh, _ = run(capsys, "check", "--format", "github", *args)
    assert code == code_json == code_gh == 1
    doc = json.loads(out)
    assert doc["exit_code"] == 1 and doc["summary"]["errors"] == 1
    (error,) = [r for r in doc["results"] if r["severity"] == "error"]
    assert (error["rule"], error["line"], error["path"]) == ("HC005", 10, "health_check.start_period")
    assert f"{error['file']}:10: health_check.start_period: error HC005: " in text
    line = next(x for x in gh.splitlines() if x.startswith("::error "))
    assert line.startswith(f"::error file={error['file']},line=10,title=HC005::health_check.start_period: ")
    assert gh.splitlines()[-1] == text.splitlines()[-1]  # the same summary


def test_check_github_warnings_and_strict(capsys, spec_args):
    code, gh, _ = run(capsys, "check", "--format", "github", "--strict", *spec_args(WARNS))
    assert code == 1 and any(x.startswith("::warning file=") and ",title=HC007::" in x for x in gh.splitlines())
    code, gh, _ = run(capsys, "check", "--format", "github", *spec_args(WARNS))
    assert code == 0


def test_check_json_reports_spec_errors_sorted_without_traceback(capsys, spec_args):
    bad = CLEAN.replace("retries: 5", "retries: 11").replace("interval: 15", "interval: fifteen")
    code, out, err = run(capsys, "check", "--format", "json", *spec_args(bad))
    assert code == 1 and err == ""
    doc = json.loads(out)
    assert doc["summary"]["spec_errors"] is True and doc["exit_code"] == 1
    keys = [(r["file"], r["line"], r["path"]) for r in doc["results"]]
    assert keys == sorted(keys) and len(keys) == 2 and all(r["rule"] == "spec" for r in doc["results"])
    code, out, err = run(capsys, "check", *spec_args(bad))  # text: as before, on stderr
    assert code == 1 and out == "" and err.splitlines()[-1] == "2 spec error(s)"
    assert run(capsys, "check", "--format", "xml", *spec_args(CLEAN))[0] == 2

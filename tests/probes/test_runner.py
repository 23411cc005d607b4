"""How a health-check command is run: the engine's semantics, checked on real processes."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from hubspec.health.liveprobe import NOT_FOUND, ProbeUsageError, probe_env, run_health_command

PY = sys.executable


def test_cmd_shell_runs_through_sh_and_expands_the_container_env(probe_path):
    env = probe_env("/user/alice/", path=probe_path)
    run = run_health_command(
        ["CMD-SHELL", 'test "${JUPYTERHUB_SERVICE_PREFIX%/}" = /user/alice || exit 3'], env=env, timeout=5
    )
    assert run.exit_code == 0, run


def test_cmd_exec_form_passes_arguments_without_a_shell(probe_path):
    """`$VAR` and `||` reach the program literally: there is no shell to interpret them."""
    script = "import sys; sys.exit(0 if sys.argv[1:] == ['$JUPYTERHUB_SERVICE_PREFIX', '||', 'exit'] else 3)"
    run = run_health_command(
        ["CMD", PY, "-c", script, "$JUPYTERHUB_SERVICE_PREFIX", "||", "exit"],
        env=probe_env("/user/alice/", path=probe_path),
        timeout=5,
    )
    assert run.exit_code == 0, run


def test_probe_sees_only_the_container_environment(probe_path, monkeypatch):
    """No proxy settings or HOME (~/.curlrc) leak from the operator's shell into the probe."""
    monkeypatch.setenv("http_proxy", "http://proxy.invalid:3128")
    run = run_health_command(
        ["CMD-SHELL", 'test -z "$http_proxy$HOME" && test -n "$PATH"'], env=probe_env(None, path=probe_path), timeout=5
    )
    assert run.exit_code == 0, run


def test_exit_status_is_passed_through(probe_path):
    run = run_health_command(
        ["CMD-SHELL", "echo not ready >&2; exit 7"], env=probe_env(None, path=probe_path), timeout=5
    )
    assert (run.exit_code, run.ok, run.output) == (7, False, "not ready")


def test_probe_past_the_timeout_is_killed_with_its_children(probe_path, tmp_path: Path):
    """Killing only /bin/sh would leave `sleep` running; the whole process group goes."""
    pid_file = tmp_path / "pid"
    run = run_health_command(
        ["CMD-SHELL", f"sleep 30 & echo $! > {pid_file}; wait"], env=probe_env(None, path=probe_path), timeout=2
    )
    assert run.timed_out and not run.ok and run.describe() == "killed"
    pid = int(pid_file.read_text())  # 2 s is ample for sh to start sleep, even on a loaded machine
    deadline = time.monotonic() + 5  # SIGKILL is delivered asynchronously: give the kernel a moment
    while not _gone_or_zombie(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone_or_zombie(pid), f"sleep {pid} survived the kill"


def _gone_or_zombie(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


def test_missing_program_in_exec_form_is_a_failure(probe_path):
    run = run_health_command(["CMD", "no-such-probe-tool", "x"], env=probe_env(None, path=probe_path), timeout=5)
    assert run.exit_code == NOT_FOUND and "no-such-probe-tool" in run.output


def test_missing_tool_in_shell_form_is_sh_127(probe_path):
    run = run_health_command(
        ["CMD-SHELL", "no-such-probe-tool http://127.0.0.1:1/ || exit 1"],
        env=probe_env(None, path=probe_path),
        timeout=5,
    )
    assert run.exit_code == 1 and "not found" in run.output


@pytest.mark.parametrize("command", [[], ["NONE"], ["CMD"], ["CMD-SHELL"], ["CMD-SHELL", "a", "b"]])
def test_malformed_commands_are_rejected(command):
    with pytest.raises(ProbeUsageError):
        run_health_command(command, env={"PATH": os.defpath}, timeout=1)

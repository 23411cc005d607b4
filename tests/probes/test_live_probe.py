"""`probe`: the service's own check against a real server, on the state machine's schedule.

Timelines are hand-worked from the rules in docs/design.md (classic: first probe
at t = interval, the next `interval` after the previous one ends; start-interval:
every 5 s inside start_period, one probe exactly when it ends, then interval).
Engine time advances by the scheduled waits plus each probe's real duration d,
so starts are checked as `previous end + interval` exactly and the counting
against start_period with d far below the margins. --speed 100 keeps each run
well under a second of waiting.
"""

from __future__ import annotations

import itertools
import re
import time
from pathlib import Path

import pytest

from hubspec import load_catalog
from hubspec.cli import main
from hubspec.health.healthstate import CLASSIC, HEALTHY, START_INTERVAL, STARTING, UNHEALTHY
from hubspec.health.liveprobe import Bounds, ProbeUsageError, prepare, probe_env, watch
from hubspec.render import RenderedHealthCheck
from tests.catalogs import FIXTURE_SIZES

SPEED = 100.0
ROW = re.compile(r"^\s*(\d+)\s+([\d.]+)s\s+([\d.]+)s\s+(\S+)\s+(yes \(\d+/\d+\)|no \(start period\)|-)\s+(\w+)")


def _services(
    tmp_path: Path,
    *,
    interval=5,
    timeout=2,
    retries=3,
    start_period=12,
    root=True,
    probe="curl",
    custom: str | None = None,
) -> Path:
    services = tmp_path / "services"
    services.mkdir(exist_ok=True)
    lines = [
        "name: web",
        "image: example/web:1",
        "port: 8888",
        "sizes: [small]",
        "health_check:",
        f"  use_container_root: {'true' if root else 'false'}",
        f"  interval: {interval}",
        f"  timeout: {timeout}",
        f"  retries: {retries}",
        f"  start_period: {start_period}",
    ]
    lines.append(f"  custom_health_command: {custom}" if custom else f"  probe: {probe}")
    (services / "web.yaml").write_text("\n".join(lines) + "\n")
    return services


def _check(services: Path, port: int, prefix: str | None = None) -> tuple[RenderedHealthCheck, dict]:
    spec = load_catalog(services, FIXTURE_SIZES).service("web")
    return prepare(spec, base_url=f"http://127.0.0.1:{port}", prefix=prefix)


def _cli(services: Path, *argv: str) -> int:
    return main(
        [
            "probe",
            "web",
            "--services-dir",
            str(services),
            "--sizes-file",
            str(FIXTURE_SIZES),
            "--speed",
            str(SPEED),
            *argv,
        ]
    )


def _rows(out: str) -> list[tuple[str, ...]]:
    return [m.groups() for m in map(ROW.match, out.splitlines()) if m]


def _assert_schedule(records, *, interval: float, first: float) -> None:
    """classic: each probe starts `interval` after the previous one *ended* (probes never overlap)."""
    assert records[0].start == first
    for before, after in itertools.pairwise(records):
        assert after.start == pytest.approx(before.end + interval, abs=1e-9)


def test_always_500_classic_unhealthy_after_retries_counted_failures(tmp_path, serve, capsys):
    """I=5 R=3 S=12: probes at 5 and ~10 start inside start_period (not counted); ~15, ~20, ~25
    count; the third counted failure makes it UNHEALTHY. Exit 1."""
    server = serve(500)
    services = _services(tmp_path)
    code = _cli(services, "--base-url", f"http://127.0.0.1:{server.port}")
    out = capsys.readouterr().out
    rows = _rows(out)
    assert code == 1
    assert [r[4] for r in rows] == ["no (start period)", "no (start period)", "yes (1/3)", "yes (2/3)", "yes (3/3)"]
    assert [r[5] for r in rows] == [STARTING] * 4 + [UNHEALTHY]
    assert [r[3] for r in rows] == ["1"] * 5  # curl's 22 through `|| exit 1`
    assert server.paths == ["/health"] * 5
    assert "final: unhealthy after 5 probes" in out and "3 counted failures" in out and "[profile classic]" in out


def test_always_500_classic_timeline_in_engine_time(tmp_path, serve):
    server = serve(500)
    check, env = _check(_services(tmp_path), server.port)
    result = watch(check, env=env, profile=CLASSIC, speed=SPEED)
    _assert_schedule(result.records, interval=5, first=5.0)
    assert [r.counted for r in result.records] == [False, False, True, True, True]
    assert result.status == UNHEALTHY and result.stopped_by == "unhealthy"
    assert result.changes == ((result.records[-1].end, UNHEALTHY),)


def test_always_500_start_interval_probes_when_start_period_ends(tmp_path, serve):
    """I=10 R=3 S=12, start interval 5: probes at 5, ~10, then exactly 12 (the end of start_period,
    which counts: it did not start *inside* it), then 10 s after each probe: UNHEALTHY at the 5th."""
    server = serve(500)
    check, env = _check(_services(tmp_path, interval=10), server.port)
    result = watch(check, env=env, profile=START_INTERVAL, speed=SPEED)
    starts = [r.start for r in result.records]
    assert starts[0] == 5.0
    assert starts[1] == pytest.approx(result.records[0].end + 5)
    assert starts[2] == 12.0
    assert starts[3] == pytest.approx(result.records[2].end + 10)
    assert starts[4] == pytest.approx(result.records[3].end + 10)
    assert [r.counted for r in result.records] == [False, False, True, True, True]
    assert result.status == UNHEALTHY


def test_ready_from_third_request_healthy_at_third_probe(tmp_path, serve, capsys):
    """Classic I=5 S=12: 503 at 5 and ~10 (not counted), 200 at ~15: HEALTHY at the end of probe 3,
    then two more probes (--after-healthy 2) and exit 0."""
    server = serve(lambda srv, path: 200 if len(srv.seen) >= 2 else 503)
    services = _services(tmp_path)
    code = _cli(services, "--base-url", f"http://127.0.0.1:{server.port}")
    out = capsys.readouterr().out
    rows = _rows(out)
    assert code == 0
    assert [(r[3], r[4], r[5]) for r in rows] == [
        ("1", "no (start period)", STARTING),
        ("1", "no (start period)", STARTING),
        ("0", "-", HEALTHY),
        ("0", "-", HEALTHY),
        ("0", "-", HEALTHY),
    ]
    assert [s.status for s in server.seen] == [503, 503, 200, 200, 200]
    assert re.search(r"final: healthy after 5 probes \(first healthy at t=15\.\d+s\)", out), out


def test_ready_at_a_time_success_counts_at_once_inside_start_period(tmp_path, serve):
    """The server answers 200 after 0.4 s of real time, well inside start_period 60 of engine time
    (engine time = scaled waits + real probe durations, so it runs slower than real time x speed).
    The notes' loop would not probe before 60 s; the engine is HEALTHY at the first probe after."""
    ready_after = 40.0 / SPEED

    server = serve(lambda srv, path: 200 if time.monotonic() - srv.started >= ready_after else 503)
    check, env = _check(_services(tmp_path, start_period=60), server.port)
    result = watch(check, env=env, profile=CLASSIC, speed=SPEED, bounds=Bounds(after_healthy=0))
    oks = [r.run.ok for r in result.records]
    assert [s.status == 200 for s in server.seen] == oks  # every verdict is the server's answer
    first_ok = oks.index(True)
    assert first_ok >= 1, "the server was ready before the first probe: the test proves nothing"
    assert not any(r.counted for r in result.records[:first_ok])  # all started inside start_period
    assert result.changes == ((result.records[first_ok].end, HEALTHY),)
    assert result.records[first_ok].start < 60  # healthy before start_period ends
    assert result.status == HEALTHY and result.stopped_by == "after-healthy"


def test_probe_past_timeout_is_killed_and_counts(probe_path):
    check = RenderedHealthCheck(
        command=("CMD-SHELL", "sleep 30"),
        interval=5,
        timeout=0.3,
        retries=1,
        start_period=0,
        port=0,
        url=None,
        give_up=0.3,
    )
    result = watch(check, env=probe_env(None, path=probe_path), speed=SPEED)
    (record,) = result.records
    assert record.run.timed_out and record.counted and result.status == UNHEALTHY
    assert result.changes == ((record.end, UNHEALTHY),)


def test_prefix_reaches_the_server_and_is_required(tmp_path, serve, capsys):
    server = serve(200)
    services = _services(tmp_path, root=False)
    base = f"http://127.0.0.1:{server.port}"
    assert _cli(services, "--base-url", base, "--after-healthy", "0", "--prefix", "/user/alice/named/") == 0
    assert server.paths == ["/user/alice/named/health"]
    capsys.readouterr()
    assert _cli(services, "--base-url", base) == 2
    assert "pass --prefix" in capsys.readouterr().err
    assert server.paths == ["/user/alice/named/health"]  # nothing ran


@pytest.mark.parametrize("kind", ["wget", "python", "tcp"])
def test_other_probe_kinds_run_live(kind, tmp_path, serve, require_tool, probe_path):
    require_tool("wget" if kind == "wget" else "python3")
    server = serve(200)
    check, env = _check(_services(tmp_path, probe=kind, root=False), server.port, prefix="/user/bob/")
    assert env == {"PATH": env["PATH"], "JUPYTERHUB_SERVICE_PREFIX": "/user/bob/"}
    env["PATH"] = probe_path  # this interpreter's python3 first: faster than a pyenv shim
    result = watch(check, env=env, speed=SPEED, bounds=Bounds(after_healthy=0))
    assert result.status == HEALTHY
    assert server.paths == ([] if kind == "tcp" else ["/user/bob/health"])


def test_custom_command_is_retargeted_too(tmp_path, serve):
    server = serve(200)
    custom = "curl -fsS -o /dev/null --max-time 1 http://127.0.0.1:8888/ready || exit 1"
    check, env = _check(_services(tmp_path, custom=custom), server.port)
    assert check.command == ("CMD-SHELL", custom.replace("127.0.0.1:8888", f"127.0.0.1:{server.port}"))
    result = watch(check, env=env, speed=SPEED, bounds=Bounds(after_healthy=0))
    assert result.status == HEALTHY and server.paths == ["/ready"]


def test_bounds_stop_a_run_that_is_still_starting(tmp_path, refused_port, capsys):
    services = _services(tmp_path)
    code = _cli(services, "--base-url", f"http://127.0.0.1:{refused_port}", "--duration", "12")
    out = capsys.readouterr().out
    assert code == 1 and len(_rows(out)) == 2  # probes at 5 and ~10; the next would start after 12
    assert "final: starting after 2 probes; stopped by duration" in out
    assert _cli(services, "--base-url", f"http://127.0.0.1:{refused_port}", "--max-probes", "1") == 1
    assert len(_rows(capsys.readouterr().out)) == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--base-url", "https://127.0.0.1:8443"], "expected http://HOST:PORT"),
        (["--base-url", "http://127.0.0.1:8888/user/alice/"], "use --prefix"),
        (["--base-url", "http://127.0.0.1:99999"], "--base-url"),
        (["--base-url", "http://127.0.0.1:8888", "--prefix", "user/alice"], "start and end with '/'"),
    ],
)
def test_usage_errors_exit_2(argv, message, tmp_path, capsys):
    assert _cli(_services(tmp_path), *argv) == 2
    assert message in capsys.readouterr().err


def test_unknown_service_and_bad_specs_exit_2(tmp_path, capsys):
    services = _services(tmp_path)
    assert (
        main(
            [
                "probe",
                "nope",
                "--services-dir",
                str(services),
                "--sizes-file",
                str(FIXTURE_SIZES),
                "--base-url",
                "http://127.0.0.1:8888",
            ]
        )
        == 2
    )
    assert "unknown service 'nope'" in capsys.readouterr().err
    (services / "web.yaml").write_text((services / "web.yaml").read_text().replace("retries: 3", "retries: 0"))
    assert _cli(services, "--base-url", "http://127.0.0.1:8888") == 2
    assert "web.yaml:9: health_check.retries:" in capsys.readouterr().err


def test_argparse_errors_exit_2(tmp_path, capsys):
    services = _services(tmp_path)
    assert _cli(services, "--base-url", "http://127.0.0.1:8888", "--speed", "0") == 2
    assert main(["probe", "web"]) == 2  # --base-url is required
    assert "--base-url" in capsys.readouterr().err


def test_help_explains_schedule_and_exit_codes(capsys):
    assert main(["probe", "--help"]) == 0
    text = capsys.readouterr().out
    for needle in (
        "--base-url",
        "--speed",
        "--prefix",
        "--profile",
        "start-interval",
        "exit status",
        "not counted",
        "killed at the health-check timeout",
    ):
        assert needle in text, needle


def test_prepare_rejects_https(tmp_path):
    spec = load_catalog(_services(tmp_path), FIXTURE_SIZES).service("web")
    with pytest.raises(ProbeUsageError):
        prepare(spec, base_url="https://example.org", prefix=None)

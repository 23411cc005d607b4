"""`hubspec observed` and `tune --samples spawns.jsonl` on hand-written spawn records (fixture catalog)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hubspec import cli
from hubspec.health.observed import HEALTHY_TARGET, SUCCESS_TARGET, nearest_rank


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def record(service="chat", size="small", outcome="ready", running=20.0, healthy=50.0, **more) -> str:
    data = {
        "record": "ecsspawner.spawn",
        "version": 1,
        "service": service,
        "size": size,
        "outcome": outcome,
        "time_to_running_seconds": running,
        "time_to_healthy_seconds": healthy,
        **more,
    }
    return json.dumps(data)


def write(tmp_path: Path, *lines: str, name: str = "spawns.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_nearest_rank_matches_tunes_p95():
    values = [float(v) for v in range(1, 21)]
    assert (nearest_rank(values, 0.5), nearest_rank(values, 0.95), nearest_rank(values, 0.99)) == (10, 19, 20)
    assert nearest_rank([7.0], 0.99) == 7


def test_observed_groups_percentiles_and_flags_each_miss(capsys, tmp_path):
    healthy = [40.0 + i for i in range(20)] + [120.0]  # 21 ready chat/small spawns: P95 = 59 s, P99 = 120 s
    lines = [record(running=10.0 + i, healthy=h) for i, h in enumerate(healthy)]
    lines += [record(outcome="failed", running=12.0, healthy=None, reason="unhealthy")]  # 21/22 = 95.5 %
    lines += [record(size="medium", running=30.0, healthy=100.0 + i) for i in range(3)]  # P95 102 > 90
    lines += [record(size="medium", outcome="cancelled", running=None, healthy=None)]  # 3/4 = 75 %
    code, out, _ = run(capsys, "observed", write(tmp_path, *lines), "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["targets"] == {"success_rate_percent_above": SUCCESS_TARGET, "time_to_healthy_seconds": [45, 90]}
    medium, small = data["groups"]  # sorted by service, then size name
    assert (small["size"], small["spawns"], small["ready"], small["success_rate_percent"]) == ("small", 22, 21, 95.5)
    assert small["time_to_healthy_seconds"] == {"p50": 50.0, "p95": 59.0, "p99": 120.0}
    assert small["time_to_running_seconds"]["p50"] == 19.0  # 10..30 and 12: the 11th smallest of 22
    assert small["misses"] == []
    assert small["simulated_earliest_healthy_seconds"] == {"classic": 15, "start-interval": 5}
    assert medium["misses"] == [
        "success rate 75.0 % is not above the target 95 %",
        f"P95 time to HEALTHY 102 s is above the target {HEALTHY_TARGET[1]:g} s",
    ]
    code, out, _ = run(capsys, "observed", write(tmp_path, *lines))
    assert code == 0
    assert "MISS chat × medium: P95 time to HEALTHY 102 s is above the target 90 s" in out
    assert [line.split()[:2] + line.split()[-1:] for line in out.splitlines() if line.startswith("chat ")] == [
        ["chat", "medium", "MISS"],
        ["chat", "small", "ok"],
    ]


def test_a_service_missing_from_the_catalog_is_shown_not_simulated(capsys, tmp_path):
    code, out, _ = run(capsys, "observed", write(tmp_path, record(service="rstudio")), "--format", "json")
    assert code == 0 and json.loads(out)["groups"][0]["simulated_earliest_healthy_seconds"] is None


def test_bad_lines_are_file_line_path_message_errors(capsys, tmp_path):
    path = write(
        tmp_path,
        record(),
        "",
        "{not json",
        "[1, 2]",
        record(outcome="maybe", running=-1),
        json.dumps({"record": "something.else"}),
        record(running=60.0, healthy=50.0),
        record(service="", version=2),
    )
    code, out, err = run(capsys, "observed", path)
    assert (code, out) == (1, "")
    name = str(path)
    assert err.splitlines() == [
        f"{name}:3: $: invalid JSON: Expecting property name enclosed in double quotes (column 2)",
        f"{name}:4: $: expected a JSON object (a spawn record), got list",
        f"{name}:5: outcome: 'maybe': expected one of ready, failed, cancelled",
        f"{name}:5: time_to_running_seconds: -1: expected null or a number of seconds >= 0",
        f"{name}:6: record: 'something.else' is not a spawn record; expected 'ecsspawner.spawn'",
        f"{name}:7: time_to_healthy_seconds: 50.0 is earlier than time_to_running_seconds 60.0",
        f"{name}:8: service: '': expected a non-empty string",
        f"{name}:8: version: 2: this hubspec reads version 1",
    ]
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [
        ["observed"],
        ["observed", "x.jsonl", "--format", "yaml"],
    ],
)
def test_observed_usage_errors_exit_2(capsys, argv):
    assert run(capsys, *argv)[0] == 2


def test_tune_takes_healthy_minus_running_per_ready_spawn_of_the_service_and_size(capsys, tmp_path):
    path = write(
        tmp_path,
        record(running=20.0, healthy=50.0),  # 30
        record(running=25.0, healthy=45.0),  # 20
        record(size="medium", running=10.0, healthy=90.0),  # 80, only without --size
        record(outcome="failed", running=20.0, healthy=None),
        record(service="waiide", running=1.0, healthy=99.0),
    )
    code, out, _ = run(capsys, "tune", "chat", "--samples", path, "--size", "small")
    assert code == 0
    assert f"chat: 2 start-up samples from {path}: median 25 s, P95 30 s (nearest rank), slowest 30 s" in out
    code, out, _ = run(capsys, "tune", "chat", "--samples", path)
    assert code == 0 and "chat: 3 start-up samples" in out and "slowest 80 s" in out


def test_tune_record_errors_and_option_mix_ups(capsys, tmp_path):
    path = write(tmp_path, record(size="medium"))
    code, _, err = run(capsys, "tune", "chat", "--samples", path, "--size", "small")
    assert code == 1
    assert err.startswith(f"{path}:1: $: no start-up samples for chat × small: 0 record(s), 0 ready")
    csv = write(tmp_path, "30", "40", name="startups.csv")
    assert run(capsys, "tune", "chat", "--samples", csv, "--size", "small")[0] == 2
    assert run(capsys, "tune", "chat", "--samples", path, "--column", "1")[0] == 2
    bad = write(tmp_path, record(healthy="soon"))
    code, _, err = run(capsys, "tune", "chat", "--samples", bad)
    assert code == 1 and err.splitlines() == [
        f"{bad}:1: time_to_healthy_seconds: 'soon': expected null or a number of seconds >= 0"
    ]


@pytest.mark.parametrize("argv", [["observed", "/dev/zero"], ["tune", "chat", "--samples", "/dev/zero"]])
def test_an_endless_file_is_refused_not_read(capsys, argv):
    """Reading /dev/zero (or sniffing its first line) would never end; both readers check the file first."""
    code, _, err = run(capsys, *argv)
    assert code == 1 and err.startswith("/dev/zero:1: $: is a character device, not a regular file")


def test_the_sample_generator_writes_records_that_observed_and_tune_read(tmp_path, capsys):
    """examples/sample_spawns.py: the spawner's own recorder, every service × size of the catalog."""
    import importlib.util
    import json

    from hubspec import cli
    from hubspec.loader import load_catalog
    from tests.catalogs import HUB_CATALOG_SERVICES, HUB_CATALOG_SIZES, REPO

    spec = importlib.util.spec_from_file_location("sample_spawns", REPO / "examples" / "sample_spawns.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    path = tmp_path / "spawns.jsonl"
    catalog = load_catalog(HUB_CATALOG_SERVICES, HUB_CATALOG_SIZES)
    assert module.generate(path, per_size=6, services=HUB_CATALOG_SERVICES) == 6 * sum(
        len(s.sizes) for s in catalog.services
    )
    paths = ["--services-dir", str(HUB_CATALOG_SERVICES), "--sizes-file", str(HUB_CATALOG_SIZES)]
    assert cli.main(["observed", str(path), "--format", "json", *paths]) == 0
    groups = json.loads(capsys.readouterr().out)["groups"]
    assert {(g["service"], g["size"]) for g in groups} == {(s.name, z) for s in catalog.services for z in s.sizes}
    assert all(g["spawns"] == 6 for g in groups)
    assert cli.main(["tune", "waiide", "--samples", str(path), "--size", "medium", *paths]) == 0  # a dry run
    assert "start-up samples from" in capsys.readouterr().out


def test_the_simulated_column_is_the_tasks_healthy_after_the_sidecars_it_waits_for():
    """A server that waits for a sidecar's HEALTHY starts late, and the spawner's time to HEALTHY is the task's:
    the number to compare with is the chained one, not the server's own check from its own start."""
    from hubspec.health.observed import SpawnRecord, summarize
    from hubspec.health.timing import chained_timings, timings
    from hubspec.loader import load_catalog
    from tests.catalogs import FIXTURE_SIZES, REPO

    catalog = load_catalog(REPO / "tests" / "toolkit" / "inputs" / "chains" / "services", FIXTURE_SIZES)
    spec = catalog.service("gate")
    spawn = SpawnRecord(
        service="gate", size="small", outcome="ready", time_to_running=20.0, time_to_healthy=60.0, line=1
    )
    (group,) = summarize([spawn], catalog)
    for profile, value in (group.simulated_earliest_healthy or {}).items():
        chained = chained_timings(spec, profile=profile)
        assert chained is not None and value == chained.ready
        assert value > timings(spec.health_check).by_profile[profile].earliest_healthy  # it waited

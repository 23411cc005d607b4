"""Dependency-aware timing: which containers decide the task's health, the chained timeline, and where it
shows (HC007, the report, `timeline`). Machinery on the fixture catalog tests/toolkit/inputs/chains; the
bundled chat's numbers derived from services/chat.yaml."""

from __future__ import annotations

import json

import pytest

from hubspec import cli
from hubspec.health import report
from hubspec.health.healthstate import PROFILES
from hubspec.health.lint import lint_service
from hubspec.health.timing import (
    HANGS,
    REFUSED,
    chained_timings,
    health_deciders,
    profile_timings,
    task_worst_detection,
    time_to_healthy,
    time_to_unhealthy,
)
from hubspec.loader import load_catalog
from tests.catalogs import BUNDLED_SERVICES, BUNDLED_SIZES, FIXTURE_SIZES, REPO

CHAINS = REPO / "tests" / "toolkit" / "inputs" / "chains" / "services"


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(CHAINS, FIXTURE_SIZES)


def check(spec, name):
    return spec.container(name).health_check


def hc007(spec):
    return [f for f in lint_service(spec) if f.rule == "HC007"]


def test_only_essential_containers_with_checks_decide_the_tasks_health(catalog):
    deciders = {s.name: [c.name for c in health_deciders(s)] for s in catalog.services}
    assert deciders == {
        "gate": ["gate"],  # warmup has a check but is not essential
        "plain": ["plain"],  # proxy is essential but has no check
        "relay": ["relay", "agent"],
        "transitive": ["transitive", "a", "b"],
        "watch": ["watch", "slow"],  # idle: checked, not essential
    }


def test_the_server_starts_when_its_healthy_dependency_is_healthy(catalog):
    spec = catalog.service("relay")
    for profile in PROFILES:
        chained = chained_timings(spec, profile=profile)
        starts = time_to_healthy(check(spec, "agent"), profile=profile)
        assert chained.server_starts == starts and starts > 0
        assert chained.ready == starts + time_to_healthy(spec.health_check, profile=profile)
        assert chained.never_ready_refused == starts + time_to_unhealthy(
            spec.health_check, profile=profile, mode=REFUSED
        )
        assert chained.never_ready_hangs == starts + time_to_unhealthy(spec.health_check, profile=profile, mode=HANGS)
        agent = check(spec, "agent")
        assert chained.sidecar_never_ready == (
            (
                "agent",
                time_to_unhealthy(agent, profile=profile, mode=REFUSED),
                time_to_unhealthy(agent, profile=profile, mode=HANGS),
            ),
        )


def test_a_chain_of_two_adds_both_times_to_healthy(catalog):
    spec = catalog.service("transitive")
    for profile in PROFILES:
        chained = chained_timings(spec, profile=profile)
        b = time_to_healthy(check(spec, "b"), profile=profile)
        a = b + time_to_healthy(check(spec, "a"), profile=profile)
        assert [(c.name, c.starts) for c in chained.containers] == [("transitive", a), ("a", b), ("b", 0.0)]
        assert chained.server_starts == a
        # a never answering: a starts when b is HEALTHY, and its own check makes the task UNHEALTHY
        assert dict((n, (f, h)) for n, f, h in chained.sidecar_never_ready)["a"] == (
            b + time_to_unhealthy(check(spec, "a"), profile=profile, mode=REFUSED),
            b + time_to_unhealthy(check(spec, "a"), profile=profile, mode=HANGS),
        )


def test_a_non_essential_dependency_that_never_answers_leaves_the_task_pending(catalog):
    spec = catalog.service("gate")
    for profile in PROFILES:
        chained = chained_timings(spec, profile=profile)
        assert chained.server_starts == time_to_healthy(check(spec, "warmup"), profile=profile)
        assert chained.sidecar_never_ready == (("warmup", None, None),)
        # PENDING is not a detection: the worst case is the server's own, shifted by its start
        assert chained.worst[0] == chained.never_ready_hangs


def test_an_essential_sidecar_decides_when_the_task_is_healthy_a_non_essential_one_does_not(catalog):
    spec = catalog.service("watch")
    for profile in PROFILES:
        chained = chained_timings(spec, profile=profile)
        slow = time_to_healthy(check(spec, "slow"), profile=profile)
        idle = time_to_healthy(check(spec, "idle"), profile=profile)
        server = time_to_healthy(spec.health_check, profile=profile)
        assert server < slow < idle
        assert chained.server_starts == 0 and chained.ready == slow
        assert [name for name, _, _ in chained.sidecar_never_ready] == ["slow"]
        slow_hangs = time_to_unhealthy(check(spec, "slow"), profile=profile, mode=HANGS)
        assert chained.worst == (slow_hangs, "slow never ready, probes hang")


def test_no_chain_without_a_healthy_dependency_or_another_deciding_container(catalog):
    spec = catalog.service("plain")
    for profile in PROFILES:
        assert chained_timings(spec, profile=profile) is None
        assert (
            task_worst_detection(spec, profile=profile)
            == profile_timings(spec.health_check, profile=profile).worst_detection
        )


def test_hc007_judges_the_chained_worst_case(catalog):
    spec = catalog.service("relay")
    alone = [profile_timings(spec.health_check, profile=p).worst_detection[0] for p in PROFILES]
    assert max(alone) <= 180  # the server's own check alone meets the notes' target ...
    chained = {p: chained_timings(spec, profile=p).worst[0] for p in PROFILES}
    assert min(chained.values()) > 180  # ... waiting for the agent does not
    (finding,) = hc007(spec)
    low, high = min(chained.values()), max(chained.values())
    assert finding.measured == f"{low:g}–{high:g} s"
    assert f"is {high:g} s (relay never ready, probes hang, started at" in finding.message
    assert "sidecars' checks included" in finding.message


def test_an_acknowledgement_quoting_the_chained_numbers_holds(catalog, tmp_path):
    spec = catalog.service("relay")
    (finding,) = hc007(spec)
    text = (CHAINS / "relay.yaml").read_text()
    folder = tmp_path / "services"
    folder.mkdir()
    for accepts, acknowledged in ((finding.measured, True), ("150 s", False)):
        (folder / "relay.yaml").write_text(
            text + f"lint_acknowledge:\n  - {{rule: HC007, reason: slow agent on purpose, accepts: '{accepts}'}}\n"
        )
        found = lint_service(load_catalog(folder, FIXTURE_SIZES).service("relay"))
        assert [f.acknowledged for f in found if f.rule == "HC007"] == [
            "slow agent on purpose" if acknowledged else None
        ]
        assert any(f.rule == "HC102" for f in found) is not acknowledged


def test_report_shows_the_chain_only_where_there_is_one(catalog):
    reports = report.build(catalog)
    markdown = report.to_markdown(reports)
    sections = {s.split("\n", 1)[0]: s for s in markdown.split("\n## ")[1:]}
    assert "The task, chained" in sections["relay"] and "The task, chained" not in sections["plain"]
    assert "| task UNHEALTHY: warmup never ready, probes fail fast | PENDING | PENDING | PENDING |" in sections["gate"]
    relay = {p: chained_timings(catalog.service("relay"), profile=p) for p in PROFILES}
    row = " | ".join(f"{relay[p].never_ready_hangs:g}" for p in PROFILES)
    assert f"| task UNHEALTHY: relay never ready, probes hang | {row} |" in sections["relay"]
    doc = json.loads(report.to_json(reports))
    by_name = {s["service"]: s for s in doc["services"]}
    assert by_name["plain"]["chained"] is None
    assert by_name["relay"]["chained"]["profiles"]["classic"]["server_starts"] == relay["classic"].server_starts


def test_timeline_prints_the_reports_chained_rows(catalog, capsys):
    spec = catalog.service("transitive")
    args = ["--services-dir", str(CHAINS), "--sizes-file", str(FIXTURE_SIZES), "timeline", "transitive"]
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    rows = report.chained_rows(spec, report.chained_by_profile(spec), None)
    for label, values in rows:
        assert f"  {label}: " + "; ".join(f"{p} {v:g} s" for p, v in values.items()) in out
    assert cli.main([*args, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [r["event"] for r in doc["chained"]["rows"]] == [label for label, _ in rows]


@pytest.mark.catalog
def test_bundled_chat_chained_numbers_follow_from_its_file():
    """Whatever services/chat.yaml says: the report, `timeline` and HC007 use the chained numbers."""
    catalog = load_catalog(BUNDLED_SERVICES, BUNDLED_SIZES)
    for spec in catalog.services:
        waited = [n for n, cond in spec.depends_on.items() if cond == "HEALTHY"]
        for profile in PROFILES:
            chained = chained_timings(spec, profile=profile)
            if not waited and [c.name for c in health_deciders(spec)] == [spec.name]:
                assert chained is None
                continue
            starts = max((time_to_healthy(check(spec, n), profile=profile) for n in waited), default=0.0)
            assert chained.server_starts == starts
            assert chained.never_ready_hangs == starts + time_to_unhealthy(
                spec.health_check, profile=profile, mode=HANGS
            )
            for name, fast, hang in chained.sidecar_never_ready:
                sidecar = spec.container(name)
                at = next(c.starts for c in chained.containers if c.name == name)
                if sidecar.essential:  # its own check makes the task UNHEALTHY
                    assert (fast, hang) == (
                        at + time_to_unhealthy(sidecar.health_check, profile=profile, mode=REFUSED),
                        at + time_to_unhealthy(sidecar.health_check, profile=profile, mode=HANGS),
                    )
                else:  # the server never starts: PENDING
                    assert (fast, hang) == (None, None)
        worst = [task_worst_detection(spec, profile=p)[0] for p in PROFILES]
        findings = hc007(spec)
        if findings:
            (finding,) = findings
            low, high = min(worst), max(worst)
            assert finding.measured == (f"{low:g} s" if low == high else f"{low:g}–{high:g} s")

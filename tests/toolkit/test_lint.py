"""Lint rules: each fires exactly at its boundary, names file, line and field, and has a fix hint."""

from __future__ import annotations

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from hubspec.health.lint import RULES, lint_catalog, lint_service, probe_ports
from hubspec.loader import load_catalog
from hubspec.model import EfsSpec
from tests.catalogs import BUNDLED_SERVICES, BUNDLED_SIZES

GOOD = """\
name: svc
image: example/svc:1
port: 8888
sizes: [small]
{extra}health_check:
  interval: {interval}
  timeout: {timeout}
  retries: {retries}
  start_period: {start_period}
{hc_extra}"""


def yaml_spec(services_dir, sizes_file, *, extra="", hc_extra="", interval=15, timeout=10, retries=6, start_period=45):
    text = GOOD.format(
        extra=extra, hc_extra=hc_extra, interval=interval, timeout=timeout, retries=retries, start_period=start_period
    )
    folder = services_dir("svc", text)
    return load_catalog(folder, sizes_file).service("svc")


def rules(findings):
    return [f.rule for f in findings]


def only(findings, rule):
    hits = [f for f in findings if f.rule == rule]
    assert len(hits) == 1, findings
    return hits[0]


def test_clean_spec_has_no_findings(services_dir, sizes_file):
    # I 15, T 10, R 5, S 45: window 75 s; worst detection is a hanging never-ready container
    # under classic: probes 15, 40 (not counted), 65, 90, 115, 140, 165 (5th counted) -> 175 s.
    spec = yaml_spec(services_dir, sizes_file, retries=5)
    assert lint_service(spec) == []


def test_finding_names_file_line_field_and_fix(services_dir, sizes_file, monkeypatch):
    monkeypatch.chdir(services_dir("svc", "x: 1").parent)  # file names print relative to the cwd
    spec = yaml_spec(services_dir, sizes_file, timeout=15, retries=5)
    finding = only(lint_service(spec), "HC002")
    assert (finding.file, finding.line, finding.path, finding.severity, finding.service) == (
        "services/svc.yaml",
        7,
        "health_check.timeout",
        "warning",
        "svc",
    )
    assert str(finding).startswith("services/svc.yaml:7: health_check.timeout: warning HC002: timeout equals interval")
    assert "(fix: lower timeout to 10 or raise interval)" in str(finding)


@pytest.mark.parametrize("timeout, fired", [(14, []), (15, ["HC002"])])
def test_timeout_equal_to_interval(make_spec, timeout, fired):
    assert [r for r in rules(lint_service(make_spec(timeout=timeout, retries=5))) if r == "HC002"] == fired


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"interval": 10, "timeout": 20, "retries": 5},
            "health_check.timeout: timeout 20 is greater than interval 10; allowed: timeout <= interval "
            "(aws-cdk-lib rejects a longer timeout)",
        ),
        ({"retries": 12}, "health_check.retries: retries 12 is outside the ECS range 1-10"),
        ({"interval": 4, "timeout": 2}, "health_check.interval: interval 4 is outside the ECS range 5-300"),
        ({"start_period": 301}, "health_check.start_period: start_period 301 is outside the ECS range 0-300"),
    ],
)
def test_specs_built_in_code_meet_the_loaders_limits_before_any_rule_runs(make_spec, values, message):
    """One owner per rule: the loader refuses these in YAML, HealthCheckSpec in code; lint never sees them."""
    with pytest.raises(ValueError) as err:
        make_spec(**values)
    assert str(err.value) == message


@pytest.mark.parametrize("efs, timeout, fired", [(True, 4, True), (True, 5, False), (False, 2, False)])
def test_short_timeout_on_efs(make_spec, efs, timeout, fired):
    found = lint_service(
        make_spec(timeout=timeout, retries=5, service={"efs": EfsSpec("/home/jovyan", per_user=True) if efs else None})
    )
    assert ("HC003" in rules(found)) is fired


@pytest.mark.parametrize("retries, fired", [(4, True), (5, False)])
def test_few_retries(make_spec, retries, fired):
    found = lint_service(make_spec(retries=retries, interval=20, timeout=5))
    assert ("HC004" in rules(found)) is fired
    if fired:
        assert "10 is the ECS maximum" in only(found, "HC004").hint


@pytest.mark.parametrize(
    "startup, start_period, fired",
    [
        ({"startup_typical": 30}, 45, False),  # exactly 1.5 × 30
        ({"startup_typical": 30}, 44, True),
        ({"startup_typical": 20, "startup_p95": 40}, 45, True),  # p95 wins over typical: needs 60
        ({}, 5, False),  # nothing declared, nothing to check
    ],
)
def test_start_period_against_declared_start_up(make_spec, startup, start_period, fired):
    found = lint_service(make_spec(start_period=start_period, retries=5, service=startup))
    assert ("HC005" in rules(found)) is fired
    if fired:
        finding = only(found, "HC005")
        assert finding.severity == "error" and finding.path == "health_check.start_period"
        assert finding.hint.startswith(f"raise start_period to {45 if start_period == 44 else 60}")


@pytest.mark.parametrize(
    "interval, retries, fired", [(15, 4, False), (12, 5, False), (10, 5, True), (20, 6, False), (25, 5, True)]
)
def test_retry_window(make_spec, interval, retries, fired):
    found = lint_service(make_spec(interval=interval, timeout=5, retries=retries, start_period=0))
    assert ("HC006" in rules(found)) is fired


def test_retry_window_hint_keeps_other_rules(services_dir, sizes_file):
    # lab's numbers: 30 × 8 = 240. Retries 4 would break HC004, so suggest interval 15 with a shorter timeout.
    spec = yaml_spec(services_dir, sizes_file, interval=30, timeout=20, retries=8, start_period=60)
    finding = only(lint_service(spec), "HC006")
    assert finding.line == 8 and finding.hint == "interval 15 with timeout below 15 (120 s)"


def test_worst_case_detection_uses_the_simulation(services_dir, sizes_file):
    # chat's numbers. Hanging never-ready probes: UNHEALTHY at 240 s (classic) / 222 s (start-interval).
    spec = yaml_spec(services_dir, sizes_file, retries=8)
    finding = only(lint_service(spec), "HC007")
    assert finding.severity == "warning" and finding.line == 5 and finding.path == "health_check"
    assert "240 s (never ready, probes hang, classic profile" in finding.message
    assert "classic 240 s, start-interval 222 s; Fargate: 222–240 s" in finding.message
    assert "S + I×R = 165 s" in finding.message


def test_too_fast_detection_warns(make_spec):
    # I 5, T 2 (the probe gives up after 1 s), R 5, S 0: worst is a hanging never-ready
    # container: 5 + 4 × 6 + 1 = 30 s < 60.
    finding = only(lint_service(make_spec(interval=5, timeout=2, retries=5, start_period=0)), "HC007")
    assert finding.message.startswith("simulated worst-case detection is 30 s")


@pytest.mark.parametrize(
    "command, fired",
    [
        ("curl -fsS --max-time 9 http://127.0.0.1:8888/health", []),
        ("curl -f http://127.0.0.1:8888/health || exit 1", ["HC009"]),
        ("curl -f -m 10 http://127.0.0.1:8888/health", ["HC009"]),
        ("curl -f --max-time 12 http://127.0.0.1:8888/health", ["HC009"]),
        ("wget -q -T 5 -O /dev/null http://127.0.0.1:8888/health", []),
    ],
)
def test_custom_curl_command(make_spec, command, fired):
    found = lint_service(make_spec(retries=5, custom_health_command=command))
    assert rules(found) == fired
    for f in found:
        assert f.path == "health_check.custom_health_command" and f.hint


def test_custom_command_without_fail_flag_is_refused_in_code_too(make_spec):
    with pytest.raises(ValueError, match=r"health_check\.custom_health_command: runs `curl -sS .*` without -f/--fail"):
        make_spec(retries=5, custom_health_command="curl -sS --max-time 9 http://127.0.0.1:8888/health")


def test_custom_command_without_fail_flag_is_rejected_by_the_loader_first(services_dir, sizes_file):
    from hubspec.errors import SpecErrors

    with pytest.raises(SpecErrors, match="without -f/--fail"):
        yaml_spec(services_dir, sizes_file, hc_extra="  custom_health_command: curl http://127.0.0.1:8888/\n")


@pytest.mark.parametrize(
    "command, hc_port, fired",
    [
        ("curl -f -m 9 http://127.0.0.1:8888/health", None, False),
        ("curl -f -m 9 http://127.0.0.1:3000/health", None, True),
        ("curl -f -m 9 http://127.0.0.1:3000/health", 3000, False),
        ("curl -f -m 9 http://localhost:3000/health && curl -f -m 9 http://127.0.0.1:8888/", 3000, False),
        ("curl -f -m 9 http://127.0.0.1/health", None, True),  # no port in the URL: 80
        ("curl -f -m 9 http://127.0.0.1:${PORT}/health", None, False),  # unreadable: not guessed
    ],
)
def test_probe_port_must_be_exposed_or_named(make_spec, command, hc_port, fired):
    found = lint_service(make_spec(retries=5, custom_health_command=command, health_check_port=hc_port))
    assert ("HC010" in rules(found)) is fired
    if fired:
        assert only(found, "HC010").severity == "error"


def test_probe_ports_reads_urls():
    assert probe_ports("curl -f http://127.0.0.1:8071/health || wget -q https://localhost/x") == [8071, 443]
    assert probe_ports("python3 -c \"socket.create_connection(('127.0.0.1', 8071))\"") == []
    assert probe_ports("curl -f 127.0.0.1:3000/health") == [3000]


# ---- acknowledgements ---------------------------------------------------------------------------

ACK_BLOCK = """\
lint_acknowledge:
  - rule: {rule}
    reason: {reason}
    accepts: {accepts}
"""


def test_acknowledged_warning_is_listed_but_does_not_count(services_dir, sizes_file):
    spec = yaml_spec(
        services_dir,
        sizes_file,
        retries=8,
        extra=ACK_BLOCK.format(rule="HC007", reason="hangs are rare; fast failures take 150 s", accepts="222-240 s"),
    )
    finding = only(lint_service(spec), "HC007")
    assert finding.acknowledged == "hangs are rare; fast failures take 150 s" and not finding.counts
    assert str(finding).endswith("[acknowledged: hangs are rare; fast failures take 150 s]")


@pytest.mark.parametrize(
    "rule, meta, severity", [("HC005", "HC101", "error"), ("HC999", "HC100", "error"), ("HC002", "HC102", "warning")]
)
def test_acknowledgements_that_cannot_apply_are_reported(services_dir, sizes_file, rule, meta, severity):
    spec = yaml_spec(
        services_dir,
        sizes_file,
        retries=5,
        start_period=30,
        extra="startup_seconds:\n  typical: 30\n" + ACK_BLOCK.format(rule=rule, reason="because", accepts="1 s"),
    )
    found = lint_service(spec)
    finding = only(found, meta)
    # The acknowledgement's own line: `  - rule: ...` is line 8 (after two startup lines).
    assert (finding.severity, finding.line, finding.path) == (severity, 8, "lint_acknowledge[0].rule")
    assert only(found, "HC005").acknowledged is None  # an error stays an error


def test_catalog_findings_are_sorted_and_tagged(services_dir, sizes_file):
    services_dir(
        "other",
        GOOD.replace("name: svc", "name: other").format(
            extra="", hc_extra="", interval=15, timeout=15, retries=4, start_period=0
        ),
    )
    folder = services_dir(
        "svc", GOOD.format(extra="", hc_extra="", interval=15, timeout=10, retries=5, start_period=45)
    )
    found = lint_catalog(load_catalog(folder, sizes_file))
    assert found == sorted(found)
    assert {f.service for f in found} == {"other"} and set(rules(found)) >= {"HC002", "HC004"}


@pytest.mark.catalog
def test_bundled_services_have_no_lint_errors_and_no_stale_acknowledgements():
    """What `check` and synth enforce. An open warning is a team's call (synth prints it), so it may stay."""
    catalog = load_catalog(BUNDLED_SERVICES, BUNDLED_SIZES)
    found = lint_catalog(catalog)
    assert [str(f) for f in found if f.severity == "error"] == []  # unknown or acknowledged-error rules included
    # Every acknowledgement names a rule that fires for its service; one whose numbers went stale is
    # reported (HC102, a warning, like any other open warning) rather than failing the suite.
    declared = {(spec.name, ack.rule) for spec in catalog.services for ack in spec.acknowledged}
    assert declared <= {(f.service, f.rule) for f in found if f.rule != "HC102"}


def test_rule_ids_are_stable(snapshot):
    table = {r.id: {"severity": r.severity, "title": r.title} for r in RULES.values()}
    assert table == snapshot(extension_class=JSONSnapshotExtension)


def test_every_finding_has_a_hint(make_spec):
    specs = [
        make_spec(
            interval=10, timeout=10, retries=2, start_period=0, service={"efs": EfsSpec("/home/jovyan", per_user=True)}
        ),
        make_spec(interval=10, timeout=3, retries=10, custom_health_command="curl -f http://127.0.0.1:9/"),
    ]
    found = [f for s in specs for f in lint_service(s)]
    assert len(set(rules(found))) >= 6
    assert all(f.hint for f in found)

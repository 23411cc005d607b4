"""Issue 9, item 7: HC010 knows what a probe really reaches (tests/spec/test_hardening.py has the spellings)."""

from __future__ import annotations


def test_a_probe_of_another_host_is_hc010(make_spec) -> None:
    from hubspec.health.lint import lint_service

    spec = make_spec(retries=5, custom_health_command="curl -f -m 9 http://10.0.0.7:8888/health")
    [finding] = [f for f in lint_service(spec) if f.rule == "HC010"]
    assert finding.severity == "error"
    assert finding.message.startswith("probes 10.0.0.7:8888, which is not this container")


def test_an_unexposed_port_on_ipv6_loopback_is_hc010(make_spec) -> None:
    from hubspec.health.lint import lint_service

    spec = make_spec(retries=5, custom_health_command="curl -f -m 9 http://[::1]:9999/health")
    assert [f.rule for f in lint_service(spec) if f.rule == "HC010"] == ["HC010"]


def test_a_url_python_cannot_split_is_no_traceback(tmp_path, capsys) -> None:
    """`http://[x/` made urlsplit raise inside lint: `check` printed a traceback."""
    from hubspec import cli
    from tests.catalogs import FIXTURE_SIZES

    (tmp_path / "services").mkdir()
    (tmp_path / "services" / "x.yaml").write_text(
        "name: x\nimage: example/x:1\nsizes: [small]\nhealth_check:\n  interval: 15\n  timeout: 10\n"
        "  retries: 5\n  start_period: 45\n"
        "  custom_health_command: curl -fsS --max-time 9 http://[x/health || exit 1\n"
    )
    code = cli.main(["check", "--services-dir", str(tmp_path / "services"), "--sizes-file", str(FIXTURE_SIZES)])
    out, err = capsys.readouterr()
    assert code == 1 and "Traceback" not in err
    assert "error HC010: probes 'http://[x/health', which is not a URL curl can connect to" in out


def test_a_port_out_of_range_is_hc010(make_spec) -> None:
    from hubspec.health.lint import lint_service

    spec = make_spec(retries=5, custom_health_command="curl -f -m 9 http://127.0.0.1:99999/health")
    [finding] = [f for f in lint_service(spec) if f.rule == "HC010"]
    assert "not a URL curl can connect to" in finding.message

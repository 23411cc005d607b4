"""Mermaid gantt diagrams: `timeline --format mermaid` and the report's three timelines per service."""

from __future__ import annotations

import re

from hubspec import cli
from hubspec.health import report
from hubspec.health.healthstate import PROFILES
from hubspec.health.timing import HANGS, REFUSED, time_to_healthy, time_to_unhealthy
from hubspec.loader import load_catalog
from tests.catalogs import HUB_CATALOG_SERVICES, HUB_CATALOG_SIZES

# What Mermaid's gantt grammar accepts on a line: a task name without ':' '#' ';', then its data.
TASK = re.compile(r"^    [^:#;\n]+ :((active|done|crit|milestone), )?\d\d:\d\d:\d\d, \d+s$")
HEADER = re.compile(r"^(gantt|    title [^#;\n]+|    dateFormat HH:mm:ss|    axisFormat %M:%S|    section [^#;:\n]+)$")


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_gantt(source: str) -> None:
    lines = source.rstrip("\n").split("\n")
    assert lines[0] == "gantt"
    bad = [line for line in lines if not (HEADER.match(line) or TASK.match(line))]
    assert bad == []


def milestones(source: str, status: str) -> list[float]:
    return [float(m) for m in re.findall(rf"^    {status} at ([\d.]+) s :milestone", source, re.M)]


def test_timeline_mermaid_draws_every_probe_and_the_simulated_state_changes(capsys):
    chat = load_catalog(HUB_CATALOG_SERVICES, HUB_CATALOG_SIZES).service("chat")
    code, out, _ = run(capsys, "timeline", "chat", "--ready-at", "20", "--format", "mermaid")
    assert code == 0
    assert_gantt(out)
    expected = [time_to_healthy(chat.health_check, profile=p, ready=20) for p in PROFILES]
    assert milestones(out, "HEALTHY") == expected
    assert [line for line in out.splitlines() if line.startswith("    section")] == [
        "    section server",
        *(f"    section {p}" for p in PROFILES),
    ]
    assert "    refuses connections 0-20 s :crit, 00:00:00, 20s" in out
    assert (
        f"    start_period 0-{chat.health_check.start_period} s :done, 00:00:00, {chat.health_check.start_period}s"
        in out
    )

    code, out, _ = run(
        capsys, "timeline", "chat", "--never-ready", "hangs", "--format", "mermaid", "--profile", "classic"
    )
    assert code == 0
    assert_gantt(out)
    assert milestones(out, "UNHEALTHY") == [time_to_unhealthy(chat.health_check, profile="classic", mode=HANGS)]
    counted = re.findall(r"fails (\d+)/8 :crit", out)
    assert counted == [str(n) for n in range(1, 9)]  # the run stops at UNHEALTHY: no 9/8
    assert "HEALTHY at" not in out.replace("UNHEALTHY at", "")


def test_report_embeds_ready_never_ready_and_hanging_diagrams_per_service():
    catalog = load_catalog(HUB_CATALOG_SERVICES, HUB_CATALOG_SIZES)
    markdown = report.to_markdown(report.build(catalog))
    blocks = re.findall(r"```mermaid\n(.*?)```", markdown, re.S)
    assert len(blocks) == 3 * len(catalog.services)
    for spec, (ready, refused, hangs) in zip(catalog.services, zip(*[iter(blocks)] * 3, strict=True), strict=True):
        hc = spec.health_check
        for block in (ready, refused, hangs):
            assert_gantt(block)
            assert block.split("\n")[1].startswith(f"    title {spec.name} (I/T/R/S")
        startup = report.declared_startup(spec)
        at = startup[1] if startup else 0.0
        assert milestones(ready, "HEALTHY") == [time_to_healthy(hc, profile=p, ready=at) for p in PROFILES]
        assert milestones(refused, "UNHEALTHY") == [time_to_unhealthy(hc, profile=p, mode=REFUSED) for p in PROFILES]
        assert milestones(hangs, "UNHEALTHY") == [time_to_unhealthy(hc, profile=p, mode=HANGS) for p in PROFILES]


# --- timeline --format svg ------------------------------------------------------------------------

SVG = "{http://www.w3.org/2000/svg}"


def svg_changes(root) -> dict[str, list[tuple[str, float]]]:
    """{profile: [(status, at), ...]} from the drawn state-change markers, row by row."""
    rows = {}
    for group in root.iter(f"{SVG}g"):
        css = group.get("class", "").split()
        if css[:1] == ["profile"]:
            rows[css[1]] = [
                (g.get("data-status"), float(g.get("data-at"))) for g in group.iter(f"{SVG}g") if g is not group
            ]
    return rows


def test_timeline_svg_is_a_standalone_svg_with_the_simulated_state_changes(capsys):
    import xml.etree.ElementTree as ET

    chat = load_catalog(HUB_CATALOG_SERVICES, HUB_CATALOG_SIZES).service("chat")
    hc = chat.health_check
    code, out, _ = run(capsys, "timeline", "chat", "--ready-at", "20", "--format", "svg")
    assert code == 0
    root = ET.fromstring(out.encode("utf-8"))  # well-formed XML, declaration included
    assert root.tag == f"{SVG}svg" and root.get("viewBox")
    assert svg_changes(root) == {p: [("healthy", time_to_healthy(hc, profile=p, ready=20))] for p in PROFILES}
    labels = [t.text for t in root.iter(f"{SVG}text")]
    for p in PROFILES:
        assert f"HEALTHY at {time_to_healthy(hc, profile=p, ready=20):g} s" in labels
    tooltips = [t.text for t in root.iter(f"{SVG}title")]
    assert "refuses connections 0-20 s" in tooltips and f"start_period 0-{hc.start_period} s" in tooltips

    code, out, _ = run(capsys, "timeline", "chat", "--never-ready", "hangs", "--format", "svg", "--profile", "classic")
    assert code == 0
    root = ET.fromstring(out.encode("utf-8"))
    assert svg_changes(root) == {"classic": [("unhealthy", time_to_unhealthy(hc, profile="classic", mode=HANGS))]}
    counted = [r for r in root.iter(f"{SVG}rect") if r.get("data-probe") == "counted"]
    assert len(counted) == hc.retries  # the run stops at UNHEALTHY, as the text and Mermaid timelines do
    right_edge = float(root.get("width"))
    assert all(float(r.get("x")) + float(r.get("width")) <= right_edge for r in root.iter(f"{SVG}rect"))

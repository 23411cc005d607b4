"""dashboards/ecsspawner.json: every query names only what the spawner exports, and the thresholds are the toolkit's targets.

The exported names come from the spawner's own metric definitions (ecsspawner.metrics.define on a
fresh registry), the targets from hubspec.health.observed (what `hubspec observed` flags), so neither can drift.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry

from ecsspawner import metrics
from hubspec.health.observed import HEALTHY_TARGET, QUANTILES, SUCCESS_TARGET
from tests.catalogs import REPO

DASHBOARD = REPO / "dashboards" / "ecsspawner.json"
SCRAPE_LABELS = {"job", "instance"}  # added by Prometheus to every scraped series
FUNCTIONS = {"sum", "rate", "increase", "histogram_quantile", "label_values", "clamp_min", "max", "min", "avg"}
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool", "and", "or", "unless"}
IDENT = re.compile(r"[A-Za-z_:][\w:]*")


def exported() -> dict[str, set[str]]:
    """{series name: its label names} for every ecsspawner metric, suffixes included."""
    names: dict[str, set[str]] = {}
    for collector in vars(metrics.define(CollectorRegistry())).values():
        labels = set(collector._labelnames) | SCRAPE_LABELS  # prometheus_client keeps them only here
        for family in collector.describe():
            if family.type == "histogram":
                names[f"{family.name}_bucket"] = labels | {"le"}
                names[f"{family.name}_sum"] = labels
                names[f"{family.name}_count"] = labels
            elif family.type == "counter":
                names[f"{family.name}_total"] = labels
            else:
                raise AssertionError(f"{family.name}: a {family.type}; teach this test its series names")
    return names


EXPORTED = exported()
DOC = json.loads(DASHBOARD.read_text(encoding="utf-8"))


def panels(doc=DOC) -> Iterator[dict]:
    for panel in doc["panels"]:
        yield panel
        yield from panels(panel) if "panels" in panel else ()


def queries() -> Iterator[tuple[str, str]]:
    """(where, PromQL) of every panel target and every query variable."""
    for panel in panels():
        for target in panel.get("targets", []):
            yield f"panel {panel['title']!r} {target['refId']}", target["expr"]
    for variable in DOC["templating"]["list"]:
        if variable["type"] == "query":
            yield f"variable {variable['name']}", variable["query"]["query"]


def problems(expr: str) -> list[str]:
    """What a query names that the spawner does not export (metrics, and labels on them)."""
    found = []
    named = []
    for metric, matchers in re.findall(r"([A-Za-z_:][\w:]*)\s*\{([^}]*)\}", expr):
        named.append(metric)
        for label in re.findall(r"(\w+)\s*(?:=~|!~|!=|=)", matchers):
            if metric in EXPORTED and label not in EXPORTED[metric]:
                found.append(f"{metric} has no label {label!r}")
    bare = re.sub(r'"[^"]*"', "", expr)  # strings, then selectors and ranges
    bare = re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", bare)
    grouped = set()
    for labels in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", bare):
        grouped |= {label.strip() for label in labels.split(",")}
    bare = re.sub(r"\b(?:by|without)\s*\([^)]*\)", "", bare)
    if expr.startswith("label_values("):  # label_values(selector, label): the label is the 2nd argument
        grouped.add(bare.rsplit(",", 1)[1].strip(" )"))
        bare = bare.rsplit(",", 1)[0]
    for m in IDENT.finditer(bare):
        word = m.group()
        if bare[m.end() :].lstrip().startswith("("):
            if word not in FUNCTIONS:
                found.append(f"unknown function {word}")
        elif word not in KEYWORDS and not word.startswith("$"):
            named.append(word)
    for metric in dict.fromkeys(named):  # once each, in order
        if metric not in EXPORTED:
            found.append(f"{metric} is not a series the spawner exports")
    available = set().union(*(EXPORTED.get(m, set()) for m in named)) if named else set()
    found += [f"grouping by {label!r}, which no metric here has" for label in grouped - available if label]
    return found


def test_the_exported_names_are_the_spawners():
    assert "ecsspawner_time_to_healthy_seconds_bucket" in EXPORTED
    assert "ecsspawner_spawns_total" in EXPORTED and EXPORTED["ecsspawner_spawns_total"] >= {"service", "outcome"}


@pytest.mark.parametrize(("where", "expr"), list(queries()), ids=[w for w, _ in queries()])
def test_every_query_names_only_metrics_and_labels_the_spawner_exports(where, expr):
    assert problems(expr) == [], where


def test_the_checker_catches_names_the_spawner_does_not_export():
    assert problems('sum(rate(ecsspawner_time_to_healthy_seconds_total{job=~"$hub"}[5m]))') == [
        "ecsspawner_time_to_healthy_seconds_total is not a series the spawner exports"
    ]
    assert problems('sum by (pod) (increase(ecsspawner_spawns_total{outcom="ready"}[1h]))') == [
        "ecsspawner_spawns_total has no label 'outcom'",
        "grouping by 'pod', which no metric here has",
    ]
    assert problems("up") == ["up is not a series the spawner exports"]
    assert problems("label_values(ecsspawner_spawns_total, namespace)") == [
        "grouping by 'namespace', which no metric here has"
    ]


def test_every_metric_the_spawner_exports_is_on_the_dashboard():
    text = " ".join(expr for _, expr in queries())
    families = {re.sub(r"_(bucket|sum|count)$", "", name) for name in EXPORTED}
    assert sorted(f for f in families if f not in text) == []


def steps(panel: dict) -> list[float | None]:
    return [s["value"] for s in panel["fieldConfig"]["defaults"]["thresholds"]["steps"]]


def test_thresholds_are_the_targets_hubspec_observed_flags():
    success = [p for p in panels() if any('outcome="ready"' in t["expr"] for t in p.get("targets", []))]
    assert success
    for panel in success:
        assert steps(panel) == [None, SUCCESS_TARGET], panel["title"]
        assert panel["fieldConfig"]["defaults"]["unit"] == "percent"
    healthy = [
        p
        for p in panels()
        if any(
            "histogram_quantile" in t["expr"] and "ecsspawner_time_to_healthy_seconds_bucket" in t["expr"]
            for t in p.get("targets", [])
        )
    ]
    assert healthy
    for panel in healthy:
        assert steps(panel) == [None, *HEALTHY_TARGET], panel["title"]
        assert panel["fieldConfig"]["defaults"]["unit"] == "s"
    drawn = {
        float(q)
        for p in healthy
        for t in p["targets"]
        for q in re.findall(r"histogram_quantile\(([\d.]+),\s*sum by \(le\)", t["expr"])
    }
    assert drawn == {q for _, q in QUANTILES}  # P50, P95, P99, as `observed` prints them


def test_conventions_datasource_variable_hub_templating_and_rows():
    variables = {v["name"]: v for v in DOC["templating"]["list"]}
    assert variables["PROMETHEUS_DS"]["type"] == "datasource" and variables["PROMETHEUS_DS"]["query"] == "prometheus"
    for name in ("hub", "service", "size"):
        assert variables[name]["multi"] and variables[name]["includeAll"] and variables[name]["allValue"] == ".*"
    for panel in panels():
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "$PROMETHEUS_DS"}, panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "$PROMETHEUS_DS"
            assert 'job=~"$hub"' in target["expr"], panel["title"]
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24
    ids = [p["id"] for p in panels()]
    assert len(ids) == len(set(ids))
    assert [p["title"].split(":")[0] for p in DOC["panels"] if p["type"] == "row"] == [
        "Spawns",
        "Time to HEALTHY (target 45-90 s)",
        "Time to RUNNING (provisioning and image pull)",
        "Running servers",
        "Orphan reaper",
    ]

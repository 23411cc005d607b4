"""Spawn records (the spawner's JSON lines) read back: `hubspec observed` and `tune --samples spawns.jsonl`.

The ECS spawner (ecsspawner/records.py) appends one JSON object per spawn to
`c.ECSSpawner.spawn_record_file`. This module reads that file without importing
the spawner (the hub depends on hubspec, never the reverse), so the field names
below are the contract between the two.

Start-up sample (what `tune` takes from a ready spawn): time to HEALTHY minus
time to RUNNING, i.e. from the containers running to ECS's first HEALTHY. It
*over*-estimates the server's own start-up by the wait for the next passing
probe (up to one interval with Docker <= 24, about 5 s with Docker 27+) plus the
probe's duration and up to one spawner poll interval; it *under*-estimates by the
time between the container starting and the spawner seeing RUNNING (DescribeTasks
and poll lag, usually well under the probe interval). Only prefer_ecs_health
spawns have a time to HEALTHY; other services give no samples.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hubspec.errors import SpecError, SpecErrors
from hubspec.health.healthstate import PROFILES
from hubspec.health.liveprobe import add_catalog_options, catalog_paths
from hubspec.health.timing import task_earliest_healthy
from hubspec.loader import load_catalog
from hubspec.model import Catalog
from hubspec.yamlsource import display_name, file_problem, read_text

MAX_RECORDS_BYTES = 256 * 1024 * 1024  # about a million spawn records

RECORD_KIND = "ecsspawner.spawn"
RECORD_VERSION = 1
OUTCOMES = ("ready", "failed", "cancelled")
SUCCESS_TARGET = 95.0  # the notes: spawn success rate > 95 %
HEALTHY_TARGET = (45.0, 90.0)  # the notes: time to healthy 45-90 s
QUANTILES = (("p50", 0.50), ("p95", 0.95), ("p99", 0.99))


@dataclass(frozen=True)
class SpawnRecord:
    """The fields of one spawn record that the toolkit uses."""

    line: int
    service: str
    size: str
    outcome: str
    time_to_running: float | None
    time_to_healthy: float | None

    @property
    def startup(self) -> float | None:
        """The start-up sample: HEALTHY minus RUNNING, for a ready spawn that has both (module docstring)."""
        if self.outcome != "ready" or self.time_to_running is None or self.time_to_healthy is None:
            return None
        return self.time_to_healthy - self.time_to_running


def looks_like_records(path: Path) -> bool:
    """A `.jsonl` file, or one whose first non-empty line is a JSON object with a `record` field."""
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        return True
    if file_problem(path, max_bytes=MAX_RECORDS_BYTES) is not None:
        return False  # not a readable regular file: the samples reader says why
    try:
        with path.open("rb") as handle:
            head = handle.read(64 * 1024).decode("utf-8", errors="replace")
        first = next((line for line in head.splitlines() if line.strip()), "")
        data = json.loads(first)
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "record" in data


def read_records(path: Path) -> list[SpawnRecord]:
    """Every record of a JSON-lines file; each bad line is a `file:line: path: message` (all collected)."""
    name = display_name(path)
    text = read_text(path, max_bytes=MAX_RECORDS_BYTES, kind="a spawn records file")
    records: list[SpawnRecord] = []
    errors: list[SpecError] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(SpecError(name, number, "$", f"invalid JSON: {exc.msg} (column {exc.colno})"))
            continue
        problems = list(_problems(data))
        errors.extend(SpecError(name, number, path_, message) for path_, message in problems)
        if not problems:
            records.append(
                SpawnRecord(
                    line=number,
                    service=data["service"],
                    size=data["size"],
                    outcome=data["outcome"],
                    time_to_running=_float(data.get("time_to_running_seconds")),
                    time_to_healthy=_float(data.get("time_to_healthy_seconds")),
                )
            )
    if errors:
        raise SpecErrors(errors)
    if not records:
        raise SpecErrors([SpecError(name, 1, "$", "no spawn records: expected one JSON object per line")])
    return records


def _problems(data: Any) -> Iterable[tuple[str, str]]:
    if not isinstance(data, dict):
        yield "$", f"expected a JSON object (a spawn record), got {type(data).__name__}"
        return
    if data.get("record") != RECORD_KIND:
        yield "record", f"{data.get('record')!r} is not a spawn record; expected {RECORD_KIND!r}"
        return
    if data.get("version") != RECORD_VERSION:
        yield "version", f"{data.get('version')!r}: this hubspec reads version {RECORD_VERSION}"
    for key in ("service", "size"):
        if not isinstance(data.get(key), str) or not data.get(key):
            yield key, f"{data.get(key)!r}: expected a non-empty string"
    if data.get("outcome") not in OUTCOMES:
        yield "outcome", f"{data.get('outcome')!r}: expected one of {', '.join(OUTCOMES)}"
    for key in ("time_to_running_seconds", "time_to_healthy_seconds"):
        value = data.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            yield key, f"{value!r}: expected null or a number of seconds >= 0"
    running, healthy = data.get("time_to_running_seconds"), data.get("time_to_healthy_seconds")
    if (
        isinstance(running, (int, float))
        and isinstance(healthy, (int, float))
        and not isinstance(running, bool)
        and not isinstance(healthy, bool)
        and healthy < running
    ):
        yield "time_to_healthy_seconds", f"{healthy!r} is earlier than time_to_running_seconds {running!r}"


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def nearest_rank(values: Sequence[float], q: float) -> float:
    """The smallest value with at least q of the values at or below it (as `tune` computes P95)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def startup_samples(records: Sequence[SpawnRecord], service: str, size: str | None, name: str) -> tuple[float, ...]:
    """Start-up samples (HEALTHY - RUNNING) of the ready spawns of `service` (and `size`); SpecErrors if none."""
    chosen = [r for r in records if r.service == service and (size is None or r.size == size)]
    samples = tuple(s for s in (r.startup for r in chosen) if s is not None and s > 0)
    if not samples:
        which = f"{service} × {size}" if size else service
        ready = sum(r.outcome == "ready" for r in chosen)
        raise SpecErrors(
            [
                SpecError(
                    name,
                    1,
                    "$",
                    f"no start-up samples for {which}: {len(chosen)} record(s), {ready} ready; a sample needs a ready "
                    "spawn with time_to_running_seconds and time_to_healthy_seconds (prefer_ecs_health services)",
                )
            ]
        )
    return samples


# --- observed --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    """The observed numbers of one service × size, the simulated ones and the target checks."""

    service: str
    size: str
    spawns: int
    ready: int
    running: dict[str, float | None]
    healthy: dict[str, float | None]
    simulated_earliest_healthy: dict[str, float] | None  # per engine profile; None: not in the catalog
    misses: tuple[str, ...]

    @property
    def success_rate(self) -> float:
        return 100.0 * self.ready / self.spawns

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "size": self.size,
            "spawns": self.spawns,
            "ready": self.ready,
            "success_rate_percent": round(self.success_rate, 1),
            "time_to_running_seconds": self.running,
            "time_to_healthy_seconds": self.healthy,
            "simulated_earliest_healthy_seconds": self.simulated_earliest_healthy,
            "misses": list(self.misses),
        }


def _quantiles(values: Sequence[float]) -> dict[str, float | None]:
    return {key: (round(nearest_rank(values, q), 1) if values else None) for key, q in QUANTILES}


def summarize(records: Sequence[SpawnRecord], catalog: Catalog | None) -> list[Group]:
    groups: dict[tuple[str, str], list[SpawnRecord]] = {}
    for record in records:
        groups.setdefault((record.service, record.size), []).append(record)
    result = []
    for (service, size), chosen in sorted(groups.items()):
        ready = sum(r.outcome == "ready" for r in chosen)
        running = _quantiles([r.time_to_running for r in chosen if r.time_to_running is not None])
        healthy = _quantiles([r.time_to_healthy for r in chosen if r.time_to_healthy is not None])
        simulated = None
        if catalog is not None and service in {s.name for s in catalog.services}:
            spec = catalog.service(service)  # the task's HEALTHY: after the sidecars it waits for, if any
            simulated = {p: task_earliest_healthy(spec, profile=p) for p in PROFILES}
        misses = []
        rate = 100.0 * ready / len(chosen)
        if rate <= SUCCESS_TARGET:
            misses.append(f"success rate {rate:.1f} % is not above the target {SUCCESS_TARGET:g} %")
        p95 = healthy["p95"]
        if p95 is not None and p95 > HEALTHY_TARGET[1]:
            misses.append(f"P95 time to HEALTHY {p95:g} s is above the target {HEALTHY_TARGET[1]:g} s")
        result.append(Group(service, size, len(chosen), ready, running, healthy, simulated, tuple(misses)))
    return result


def _cell(values: dict[str, float | None]) -> str:
    if all(v is None for v in values.values()):
        return "n/a"
    return " / ".join("-" if v is None else f"{v:g}" for v in values.values())


def to_text(groups: Sequence[Group], source: str) -> str:
    lines = [
        f"observed spawns from {source} (nearest-rank percentiles, seconds from RunTask's answer)",
        f"targets (design notes): success rate > {SUCCESS_TARGET:g} %, time to HEALTHY "
        f"{HEALTHY_TARGET[0]:g}-{HEALTHY_TARGET[1]:g} s (a miss: P95 above {HEALTHY_TARGET[1]:g} s)",
        "simulated earliest HEALTHY: every container answering from its start, sidecars first (classic / start-interval);",
        "  observed times also include provisioning and the image pull",
        "",
    ]
    header = (
        "service",
        "size",
        "spawns",
        "success",
        "RUNNING p50/p95/p99",
        "HEALTHY p50/p95/p99",
        "simulated c/si",
        "",
    )
    rows = []
    for g in groups:
        simulated = (
            "not in catalog"
            if g.simulated_earliest_healthy is None
            else " / ".join(f"{v:g}" for v in g.simulated_earliest_healthy.values())
        )
        rows.append(
            (
                g.service,
                g.size,
                str(g.spawns),
                f"{g.success_rate:.1f} %",
                _cell(g.running),
                _cell(g.healthy),
                simulated,
                "MISS" if g.misses else "ok",
            )
        )
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    misses = [f"MISS {g.service} × {g.size}: {m}" for g in groups for m in g.misses]
    lines.append("")
    lines.extend(misses or ["every service × size meets the targets"])
    return "\n".join(lines) + "\n"


def to_json(groups: Sequence[Group], source: str) -> str:
    data = {
        "source": source,
        "targets": {"success_rate_percent_above": SUCCESS_TARGET, "time_to_healthy_seconds": list(HEALTHY_TARGET)},
        "percentiles": "nearest rank",
        "profiles": list(PROFILES),
        "groups": [g.to_dict() for g in groups],
    }
    return json.dumps(data, indent=2) + "\n"


def observed_command(args: argparse.Namespace) -> int:
    """`observed`: 0 printed (misses are in the output), 1 bad records or a catalog that does not load."""
    try:
        records = read_records(args.records)
        catalog = load_catalog(*catalog_paths(args))
    except SpecErrors as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        return 1
    groups = summarize(records, catalog)
    source = display_name(args.records)
    sys.stdout.write(to_json(groups, source) if args.format == "json" else to_text(groups, source))
    return 0


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Register `observed` on the CLI's subparsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "observed",
        help="per service × size: spawns, success rate, time to RUNNING / HEALTHY from the spawner's records",
        description="Read the ECS spawner's spawn records (c.ECSSpawner.spawn_record_file, one JSON object per "
        "line) and print per service × size: spawns, success rate, P50/P95/P99 time to RUNNING and to "
        "HEALTHY (nearest rank), the simulated earliest HEALTHY of the task (after any sidecar it waits for), and the design notes' "
        f"targets (success rate > {SUCCESS_TARGET:g} %, time to HEALTHY {HEALTHY_TARGET[0]:g}-"
        f"{HEALTHY_TARGET[1]:g} s; a miss is a P95 above {HEALTHY_TARGET[1]:g} s), flagging each miss.",
        epilog="exit status: 0 printed (misses are flagged in the output, not in the exit code); 1 bad records "
        "(file:line: path: message) or a catalog that does not load; 2 usage error.",
    )
    parser.add_argument("records", type=Path, metavar="FILE", help="spawn records, JSON lines")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    add_catalog_options(parser)
    parser.set_defaults(func=observed_command)
    return parser

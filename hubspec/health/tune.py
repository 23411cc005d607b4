"""Propose health-check timing from observed start-up times, and edit the service file.

The design notes' "adaptive healthchecks" idea, made concrete: start_period is
derived from data (ceil(P95 × 1.5)), timeout and retries are only moved when
they break the notes' guidelines, and the edit touches nothing but the changed
values (comments, order and layout stay byte for byte). A file is written only
after the result loads through `load_catalog` and lints without errors, and it
is replaced atomically.
"""

from __future__ import annotations

import argparse
import csv
import difflib
import io
import json
import math
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError

from hubspec.errors import SpecError, SpecErrors
from hubspec.health import hubmetrics, lint, observed
from hubspec.health.liveprobe import add_catalog_options, catalog_paths, load_service
from hubspec.loader import load_catalog, service_files
from hubspec.model import ServiceSpec
from hubspec.schema import health_check_ranges
from hubspec.yamlsource import display_name, format_path, load_yaml, read_text

MAX_SAMPLES_BYTES = 16 * 1024 * 1024  # a few hundred thousand start-ups; /dev/zero and the like are refused

P95 = 0.95
FEW_SAMPLES = 20  # below this, the nearest-rank P95 is simply the largest sample
MAX_START_PERIOD = health_check_ranges()["start_period"][1]
MAX_TIMEOUT = health_check_ranges()["timeout"][1]
MAX_RETRIES = health_check_ranges()["retries"][1]
PREFERRED_RETRIES = 8  # the notes: "Retries >= 8 for production services", "Medium (5-8): recommended"
TIMEOUT_FLOOR = 5  # the notes: "Short (5s): simple health endpoints"
EFS_TIMEOUT_FLOOR = 10  # the notes: "EFS-backed services: use longer timeout (10-30s)"

RULES_TEXT = f"""\
rules (the design notes' guidelines, within the ECS ranges):
  start_period = ceil(P95 x {lint.START_PERIOD_FACTOR}), P95 by nearest rank (an observed start-up time), clamped
    to 0-{MAX_START_PERIOD} s (the ECS range; a clamp is reported and, as lint HC005 would then fail, not written).
  timeout: kept if {TIMEOUT_FLOOR} s (EFS-backed: {EFS_TIMEOUT_FLOOR} s) <= timeout < interval and <= {MAX_TIMEOUT} s,
    else moved to the nearest end of that range (start-up samples say nothing about response time).
  retries: kept if {lint.MIN_RETRIES}-{MAX_RETRIES} and interval x retries is within {lint.RETRY_WINDOW[0]}-{lint.RETRY_WINDOW[1]} s; else
    the value in {lint.MIN_RETRIES}-{MAX_RETRIES} inside that window closest to {PREFERRED_RETRIES}; if none exists for this interval,
    kept (at least {lint.MIN_RETRIES}) with a note on which intervals would fit.
  startup_seconds: typical (median) and p95 are written too, so lint HC005 checks start_period
    against the data it came from. interval is never changed.
"""


# --- samples ---------------------------------------------------------------------------------------


def read_samples(path: Path, *, column: str | None = None) -> tuple[float, ...]:
    """Start-up times in seconds from CSV or JSON; every bad value is a `file:line: path: message`."""
    name = display_name(path)
    text = read_text(path, max_bytes=MAX_SAMPLES_BYTES, kind="a samples file")
    if text.lstrip().startswith(("[", "{")):
        if column is not None:
            raise SpecErrors([SpecError(name, 1, "$", "--column applies to CSV files; this file is JSON")])
        values = _json_samples(path, name, text)
    else:
        values = _csv_samples(name, text, column)
    if not values:
        raise SpecErrors([SpecError(name, 1, "$", "no samples: expected one start-up time in seconds per start")])
    return values


def _sample_error(value: object, shown: str | None = None) -> str | None:
    """What is wrong with one sample (None: nothing); `shown` is the text as written in the file."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"{shown or repr(value)} is not a number of seconds"
    if not math.isfinite(value) or value <= 0:
        return f"{shown or value}: expected a start-up time in seconds greater than 0"
    return None


def _json_samples(path: Path, name: str, text: str) -> tuple[float, ...]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecErrors([SpecError(name, exc.lineno, "$", f"invalid JSON: {exc.msg} (column {exc.colno})")]) from None
    key: tuple[str, ...] = ()
    if isinstance(data, dict) and isinstance(data.get("samples"), list):
        data, key = data["samples"], ("samples",)
    if not isinstance(data, list):
        raise SpecErrors([SpecError(name, 1, "$", 'expected a list of numbers or {"samples": [numbers]}')])
    doc, _ = load_yaml(path)  # JSON is YAML 1.2: ruamel knows the line of every element
    errors = []
    for i, value in enumerate(data):
        problem = _sample_error(value)
        if problem:
            line = doc.line_of(key + (i,)) if doc else 1
            errors.append(SpecError(name, line, format_path(key + (i,)), problem))
    if errors:
        raise SpecErrors(errors)
    return tuple(float(v) for v in data)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _csv_samples(name: str, text: str, column: str | None) -> tuple[float, ...]:
    rows = []
    reader = csv.reader(io.StringIO(text))
    for row in reader:
        cells = [c.strip() for c in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        rows.append((reader.line_num, cells))
    if not rows:
        return ()
    first_line, first = rows[0]
    header = first if all(_number(c) is None for c in first) else None  # a header row holds no number
    index, label = _pick_column(name, first_line, first, header, column)
    errors, values = [], []
    for line, cells in rows[1:] if header else rows:
        if index >= len(cells) or cells[index] == "":
            errors.append(SpecError(name, line, label, "missing value"))
            continue
        value = _number(cells[index])
        problem = _sample_error(value, cells[index]) if value is not None else _sample_error(cells[index])
        if problem or value is None:
            errors.append(SpecError(name, line, label, problem or "not a number"))
        else:
            values.append(value)
    if errors:
        raise SpecErrors(errors)
    return tuple(values)


def _pick_column(
    name: str, line: int, first: list[str], header: list[str] | None, column: str | None
) -> tuple[int, str]:
    """Index and display label of the samples column: the only one, or the one --column names."""
    if column is None:
        if len(first) == 1:
            return 0, header[0] if header else "samples"
        listed = ", ".join(header) if header else f"{len(first)} unnamed columns"
        raise SpecErrors(
            [
                SpecError(
                    name,
                    line,
                    "$",
                    f"{len(first)} columns ({listed}); choose one with --column NAME or --column NUMBER (1-based)",
                )
            ]
        )
    if header and column in header:
        return header.index(column), column
    if column.isdigit() and 1 <= int(column) <= len(first):
        return int(column) - 1, header[int(column) - 1] if header else f"column {column}"
    known = f"columns: {', '.join(header)}" if header else f"{len(first)} unnamed columns"
    raise SpecErrors([SpecError(name, line, "$", f"no column {column!r}; {known}")])


@dataclass(frozen=True)
class StartupStats:
    count: int
    median: float
    p95: float  # nearest rank: the smallest sample with at least 95 % of samples at or below it
    maximum: float

    @classmethod
    def of(cls, samples: Sequence[float]) -> StartupStats:
        ordered = sorted(samples)
        n = len(ordered)
        middle = n // 2
        median = ordered[middle] if n % 2 else (ordered[middle - 1] + ordered[middle]) / 2
        return cls(n, _tidy(median), _tidy(ordered[math.ceil(P95 * n) - 1]), ordered[-1])


def _tidy(value: float) -> float:
    """One decimal, as written to the YAML: start_period is computed from the written value."""
    return round(value, 1)


# --- proposal --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    path: tuple[str, ...]
    old: float | None
    new: float
    reason: str

    @property
    def changed(self) -> bool:
        return self.old != self.new


@dataclass(frozen=True)
class Proposal:
    stats: StartupStats
    changes: tuple[Change, ...]
    notes: tuple[str, ...]
    clamped: bool

    def values(self) -> dict[tuple[str, ...], float]:
        return {c.path: c.new for c in self.changes if c.changed}


def propose(spec: ServiceSpec, samples: Sequence[float]) -> Proposal:
    """Apply the rules in RULES_TEXT to one service and its observed start-up times."""
    hc = spec.health_check
    stats = StartupStats.of(samples)
    notes = []
    if stats.count < FEW_SAMPLES:
        notes.append(
            f"only {stats.count} samples: with fewer than {FEW_SAMPLES} the P95 is the slowest start "
            "observed; collect more starts for a stable value"
        )
    wanted = math.ceil(lint.START_PERIOD_FACTOR * stats.p95)
    start_period = min(wanted, MAX_START_PERIOD)
    clamped = wanted > MAX_START_PERIOD
    sp_reason = f"ceil(P95 {_s(stats.p95)} × {lint.START_PERIOD_FACTOR}) = {wanted} s"
    if clamped:
        sp_reason += f", clamped to the ECS maximum {MAX_START_PERIOD} s"
        notes.append(
            f"P95 × {lint.START_PERIOD_FACTOR} = {wanted} s exceeds the ECS maximum start_period "
            f"{MAX_START_PERIOD} s: failures after {MAX_START_PERIOD} s count, so the start-up itself must "
            "get faster (lint HC005 fails on this result, so --write refuses it)"
        )
    timeout, t_reason = _timeout(hc.timeout, hc.interval, spec.efs_backed, notes)
    retries, r_reason = _retries(hc.retries, hc.interval, notes)
    changes = (
        Change(("health_check", "start_period"), hc.start_period, start_period, sp_reason),
        Change(("health_check", "timeout"), hc.timeout, timeout, t_reason),
        Change(("health_check", "retries"), hc.retries, retries, r_reason),
        Change(("startup_seconds", "typical"), spec.startup_typical, stats.median, f"median of {stats.count} samples"),
        Change(("startup_seconds", "p95"), spec.startup_p95, stats.p95, f"P95 (nearest rank) of {stats.count} samples"),
    )
    return Proposal(stats, changes, tuple(notes), clamped)


def _timeout(current: int, interval: int, efs_backed: bool, notes: list[str]) -> tuple[int, str]:
    low = EFS_TIMEOUT_FLOOR if efs_backed else TIMEOUT_FLOOR
    high = min(MAX_TIMEOUT, interval - 1)
    what = f"{low} s{' (EFS-backed)' if efs_backed else ''} <= timeout <= {high} s (< interval {interval} s)"
    if low > high:
        notes.append(
            f"interval {interval} s leaves no timeout that is >= {low} s and below the interval; raise the interval"
        )
        return high, f"{high} s: the longest below interval {interval} s"
    if low <= current <= high:
        return current, f"kept: {what}"
    new = min(max(current, low), high)
    return new, f"{current} s is outside {what}"


def _retries(current: int, interval: int, notes: list[str]) -> tuple[int, str]:
    low, high = lint.RETRY_WINDOW
    fits = [r for r in range(lint.MIN_RETRIES, MAX_RETRIES + 1) if low <= interval * r <= high]
    if current in fits:
        return current, f"kept: window {interval} s × {current} = {interval * current} s is within {low}-{high} s"
    if fits:
        best = min(fits, key=lambda r: abs(r - PREFERRED_RETRIES))
        return best, (
            f"window {interval} s × {best} = {interval * best} s is within {low}-{high} s (was {interval * current} s)"
        )
    kept = max(current, lint.MIN_RETRIES)
    first = math.ceil(low / MAX_RETRIES)
    last = high // lint.MIN_RETRIES
    notes.append(
        f"with interval {interval} s no retries in {lint.MIN_RETRIES}-{MAX_RETRIES} puts interval × retries "
        f"within {low}-{high} s; an interval of {first}-{last} s would (interval is not changed by tune)"
    )
    return kept, f"{'kept' if kept == current else f'raised to the minimum {kept}'}: no value fits the window"


def _s(value: float) -> str:
    return f"{value:g} s"


# --- editing the YAML ------------------------------------------------------------------------------


class EditError(ValueError):
    """The file's layout is one the minimal edit does not handle; edit by hand."""


def _scalar_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


_TOKEN = re.compile(r"[^\s,\]}#]+")


def apply_values(text: str, values: dict[tuple[str, ...], float]) -> str:
    """`text` with each path set to its value, changing nothing else (comments, order, layout).

    ruamel's round-trip parser gives the line and column of every key and
    value; existing scalars are replaced in place, missing keys are inserted
    next to their siblings, a missing `startup_seconds` goes above
    `health_check` (and above the comment lines that introduce it).
    """
    root = YAML(typ="rt").load(text)
    if not isinstance(root, CommentedMap) or root.fa.flow_style():
        raise EditError("the document is not a block mapping")
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += newline
    replacements: list[tuple[int, int, int, str]] = []  # (line, start col, end col, new text)
    inserts: list[tuple[int, int, str]] = []  # (line, col, new text) inserted before that point
    missing_sections: dict[str, dict[str, float]] = {}
    for path, value in values.items():
        section, key = path
        parent = root.get(section)
        if parent is None:
            missing_sections.setdefault(section, {})[key] = value
        elif not isinstance(parent, CommentedMap):
            raise EditError(f"{section} is not a mapping")
        elif key in parent:
            line, col = parent.lc.value(key)
            token = _TOKEN.match(lines[line], col)
            if token is None:
                raise EditError(f"cannot find the value of {section}.{key} on line {line + 1}")
            replacements.append((line, col, token.end(), _scalar_text(value)))
        else:
            inserts.append(_insert_key(parent, lines, key, value, newline))
    for section, entries in missing_sections.items():
        inserts.append(_insert_section(root, lines, section, entries, newline))
    edits = [(line, start, end, new) for line, start, end, new in replacements]
    edits += [(line, col, col, new) for line, col, new in inserts]
    for line, start, end, new in sorted(edits, reverse=True):
        if line == len(lines):
            lines.append("")
        lines[line] = lines[line][:start] + new + lines[line][end:]
    result = "".join(lines)
    _check_applied(result, values)
    return result


def _insert_key(parent: CommentedMap, lines: list[str], key: str, value: float, newline: str) -> tuple[int, int, str]:
    last = list(parent)[-1]
    line, col = parent.lc.value(last)
    token = _TOKEN.match(lines[line], col)
    if token is None or isinstance(parent[last], (dict, list)):
        raise EditError(f"cannot add {key!r} after {last!r}; edit by hand")
    if parent.fa.flow_style():
        return line, token.end(), f", {key}: {_scalar_text(value)}"
    indent = " " * parent.lc.col
    return line + 1, 0, f"{indent}{key}: {_scalar_text(value)}{newline}"


def _insert_section(
    root: CommentedMap, lines: list[str], section: str, entries: dict[str, float], newline: str
) -> tuple[int, int, str]:
    """A new block mapping above health_check, indented like the file's other nested mappings."""
    anchor = "health_check" if "health_check" in root else list(root)[-1]
    line, _ = root.lc.key(anchor)
    hc = root.get("health_check")
    step = hc.lc.col - root.lc.col if isinstance(hc, CommentedMap) and not hc.fa.flow_style() else 2
    top = " " * root.lc.col
    while line > 0 and lines[line - 1].startswith(top + "#"):  # the comment that introduces health_check
        line -= 1
    body = "".join(f"{top}{' ' * step}{k}: {_scalar_text(v)}{newline}" for k, v in entries.items())
    return line, 0, f"{top}{section}:{newline}{body}"


def _check_applied(text: str, values: dict[tuple[str, ...], float]) -> None:
    """Belt and braces: the edited text must parse and hold exactly the intended values."""
    try:
        data = YAML(typ="safe").load(text)
    except YAMLError as exc:
        raise EditError(f"the edited file does not parse: {exc}") from None
    for (section, key), value in values.items():
        if data.get(section, {}).get(key) != value:
            raise EditError(f"the edit did not produce {section}.{key} = {value}")


def unified_diff(old: str, new: str, name: str) -> str:
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True), fromfile=name, tofile=f"{name} (tuned)"
        )
    )


# --- validation and writing ------------------------------------------------------------------------


def validate_tuned(
    service_file: Path, new_text: str, *, services_dir: Path, sizes_file: Path, name: str
) -> list[lint.Finding]:
    """Load the catalog with the edited file in a scratch copy; return the tuned service's findings.

    Raises SpecErrors (with the real file names) when the result does not load.
    """
    with tempfile.TemporaryDirectory(prefix="hubspec-tune-") as scratch:
        copy_dir = Path(scratch) / "services"
        copy_dir.mkdir()
        renames = {}
        for original in service_files(services_dir):
            copy = copy_dir / original.name
            shutil.copyfile(original, copy)
            renames[display_name(copy)] = display_name(original)
        (copy_dir / service_file.name).write_text(new_text, encoding="utf-8")
        try:
            catalog = load_catalog(copy_dir, sizes_file)
        except SpecErrors as exc:
            raise SpecErrors(
                [SpecError(renames.get(e.file, e.file), e.line, e.path, e.message) for e in exc.errors]
            ) from None
        findings = lint.lint_service(catalog.service(name))
    return [replace(f, file=renames.get(f.file, f.file)) for f in findings]


def write_atomically(path: Path, text: str) -> None:
    """Replace path with text in one rename: readers see the old file or the new one, never half."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --- command line ----------------------------------------------------------------------------------


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Register `tune` on the CLI's subparsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "tune",
        help="propose start_period, timeout and retries from observed start-up times",
        description="Read observed start-up times of SERVICE (one per start), propose start_period, timeout "
        "and retries by the design notes' guidelines, print the YAML diff, and with --write edit "
        "the service file in place (only the changed values; comments and layout are kept).",
        epilog=RULES_TEXT
        + """
samples: CSV (one number per line, or a column: header allowed, choose with --column; empty lines and
  lines starting with # are skipped) or JSON (a list of numbers or {"samples": [...]}). Seconds, > 0.
  Or the ECS spawner's spawn records (c.ECSSpawner.spawn_record_file; a .jsonl file, or JSON lines with a
  "record" field): one sample per ready spawn of SERVICE (and --size), time to HEALTHY minus time to
  RUNNING. That over-estimates the server's start-up by the wait for the next passing probe (up to one
  interval) and under-estimates it by the spawner's lag in seeing RUNNING; services without
  prefer_ecs_health have no time to HEALTHY and give no samples.
--from-metrics URL: the hub's /hub/metrics page (GET, no redirects followed, 10 s timeout; the token in
  JUPYTERHUB_API_TOKEN is sent if set, as JupyterHub asks for one unless authenticate_prometheus is off).
  Its ecsspawner_time_to_healthy_seconds histogram (service label SERVICE, size label --size, else all
  sizes summed) gives one sample per observation at its bucket's upper bound, so the median and P95 are
  upper bounds; they count from RunTask's answer, so they include provisioning and the image pull.

--write validates the edited file with the loader and the lint rules first (no file is written if it
  does not load or has lint errors) and replaces it atomically.

exit status: 0 proposal printed (and written with --write); 1 bad samples, invalid service files, a metrics
  page that cannot be read (connection, HTTP status other than 200, no such histogram), or a result that
  fails validation (nothing written); 2 usage error (unknown service, bad options, a URL that is not http(s)).
""",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("service", help="service name (services/<name>.yaml)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--samples",
        type=Path,
        metavar="FILE",
        help="observed start-up times in seconds: CSV, JSON, or the spawner's spawn records (JSON lines)",
    )
    source.add_argument(
        "--from-metrics",
        metavar="URL",
        help=f"a hub's metrics page (http://HUB/hub/metrics): the {hubmetrics.METRIC} histogram, "
        "each start-up at its bucket's upper bound",
    )
    parser.add_argument("--column", metavar="NAME|N", help="CSV column with the samples (header name or 1-based)")
    parser.add_argument(
        "--size", metavar="SIZE", help="spawn records and --from-metrics: take the samples of this size only"
    )
    parser.add_argument("--write", action="store_true", help="edit the service file in place")
    add_catalog_options(parser)
    parser.set_defaults(func=tune_command)
    return parser


def tune_command(args: argparse.Namespace) -> int:
    """`tune`: 0 done, 1 bad input or a result that fails validation, 2 unknown service."""
    try:
        spec = load_service(args)
    except SpecErrors as exc:
        _print_errors(exc)
        return 1
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 2
    if args.from_metrics is not None:
        if args.column is not None:
            print("error: --column applies to CSV files, not to --from-metrics", file=sys.stderr)
            return 2
        try:
            hubmetrics.check_url(args.from_metrics)
            text = hubmetrics.fetch(args.from_metrics, token=os.environ.get("JUPYTERHUB_API_TOKEN"))
            histogram = hubmetrics.time_to_healthy_samples(
                text, url=args.from_metrics, service=spec.name, size=args.size
            )
        except hubmetrics.MetricsError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2 if isinstance(exc, hubmetrics.MetricsURLError) else 1
        samples, source, source_notes = histogram.samples, args.from_metrics, histogram.notes()
    else:
        records = observed.looks_like_records(args.samples)
        if args.size is not None and not records:
            print(
                "error: --size applies to spawn records (JSON lines from the ECS spawner) and --from-metrics",
                file=sys.stderr,
            )
            return 2
        if args.column is not None and records:
            print("error: --column applies to CSV files; this file holds spawn records", file=sys.stderr)
            return 2
        try:
            if records:
                samples = observed.startup_samples(
                    observed.read_records(args.samples), spec.name, args.size, display_name(args.samples)
                )
            else:
                samples = read_samples(args.samples, column=args.column)
        except SpecErrors as exc:
            _print_errors(exc)
            return 1
        source, source_notes = display_name(args.samples), []
    proposal = propose(spec, samples)
    proposal = replace(proposal, notes=(*source_notes, *proposal.notes))
    path = Path(spec.source.file)
    old = path.read_text(encoding="utf-8")
    _print_proposal(spec, proposal, source)
    try:
        new = apply_values(old, proposal.values())
    except EditError as exc:
        print(f"error: {spec.source.file}: {exc}", file=sys.stderr)
        return 1
    if new == old:
        print(f"{spec.source.file} already matches the proposal; nothing to change")
        return 0
    sys.stdout.write(unified_diff(old, new, spec.source.file))
    services_dir, sizes_file = catalog_paths(args)
    try:
        findings = validate_tuned(path, new, services_dir=services_dir, sizes_file=sizes_file, name=spec.name)
    except SpecErrors as exc:
        print("the tuned file does not validate; nothing written:", file=sys.stderr)
        _print_errors(exc)
        return 1
    for finding in findings:
        print(f"after tuning: {finding}")
    if lint.errors(findings):
        print(
            f"the tuned file has lint errors; {'nothing written' if args.write else 'it cannot be written'}",
            file=sys.stderr,
        )
        return 1
    if not args.write:
        print("(dry run: pass --write to apply)")
        return 0
    write_atomically(path, new)
    print(f"wrote {spec.source.file}")
    return 0


def _print_proposal(spec: ServiceSpec, proposal: Proposal, samples_name: str) -> None:
    s = proposal.stats
    print(
        f"{spec.name}: {s.count} start-up samples from {samples_name}: median {_s(s.median)}, "
        f"P95 {_s(s.p95)} (nearest rank), slowest {_s(s.maximum)}"
    )
    for change in proposal.changes:
        old = "unset" if change.old is None else _scalar_text(change.old)
        arrow = f"{old} -> {_scalar_text(change.new)}" if change.changed else f"{_scalar_text(change.new)}"
        print(f"  {format_path(change.path):<26} {arrow:<12} {change.reason}")
    for note in proposal.notes:
        print(f"  note: {note}")


def _print_errors(exc: SpecErrors) -> None:
    for line in exc.lines():
        print(line, file=sys.stderr)

"""The health-check report: every service × size with its simulated timing and lint findings.

Rendered as Markdown (committed as docs/healthchecks.md, so a timing change shows
up in a pull request's diff) or as JSON for other tools. Output depends only on
the specs, never on the clock, so regenerating an unchanged tree is a no-op.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from hubspec.health.diagram import report_diagrams
from hubspec.health.healthstate import DOCKER_START_INTERVAL, PROFILE_HELP, PROFILES
from hubspec.health.lint import Finding, errors, lint_service, open_warnings
from hubspec.health.timing import (
    Behaviour,
    ChainedTimings,
    Simulation,
    Span,
    Timings,
    chained_timings,
    health_deciders,
    notes_estimate,
    timings,
)
from hubspec.model import Catalog, ServiceSpec, SizeSpec
from hubspec.render import RenderedHealthCheck, render_health_check

REGENERATE = "hubspec report > docs/healthchecks.md"


@dataclass(frozen=True)
class ServiceReport:
    spec: ServiceSpec
    sizes: tuple[SizeSpec, ...]
    rendered: RenderedHealthCheck
    startup: tuple[str, float] | None  # ("p95" | "typical", seconds) the spec declares
    timings: Timings
    findings: tuple[Finding, ...]
    chained: dict[str, ChainedTimings] | None = None  # per profile, when the task's containers wait on each other


def chained_by_profile(
    spec: ServiceSpec, *, ok_seconds: float = 0.0, startup: float | None = None, profiles: tuple[str, ...] = PROFILES
) -> dict[str, ChainedTimings] | None:
    """The chained timeline per profile (report and `timeline` both call this), or None without a chain."""
    out = {p: chained_timings(spec, profile=p, ok_seconds=ok_seconds, startup=startup) for p in profiles}
    return None if any(v is None for v in out.values()) else {p: v for p, v in out.items() if v is not None}


ChainRow = tuple[str, dict[str, float | None]]  # label, seconds per profile (None: the task stays PENDING)


def chained_rows(
    spec: ServiceSpec, chained: dict[str, ChainedTimings], startup: tuple[str, float] | None
) -> list[ChainRow]:
    """The chained timeline in order, one row per event (the report's table and `timeline`'s lines)."""
    by = list(chained.items())
    first = by[0][1]
    main = spec.name
    rows: list[ChainRow] = []
    for i, c in enumerate(first.containers[1:], start=1):
        if any(ch.containers[i].starts for _, ch in by):
            rows.append((f"{c.name} starts", {p: ch.containers[i].starts for p, ch in by}))
        if c.timings is not None:
            role = "decides the task's health" if c.decides else "does not decide the task's health"
            rows.append((f"{c.name} HEALTHY (answers at once; {role})", {p: ch.containers[i].healthy for p, ch in by}))
    rows.append((f"{main} starts (what it waits for is HEALTHY)", {p: ch.server_starts for p, ch in by}))
    rows.append((f"task HEALTHY ({main} answers at once)", {p: ch.ready for p, ch in by}))
    if startup is not None:
        kind, seconds = startup
        rows.append(
            (
                f"task HEALTHY ({main} ready {seconds:g} s after it starts: {kind} start-up)",
                {p: ch.ready_when_started for p, ch in by},
            )
        )
    rows.append((f"task UNHEALTHY: {main} never ready, probes fail fast", {p: ch.never_ready_refused for p, ch in by}))
    rows.append((f"task UNHEALTHY: {main} never ready, probes hang", {p: ch.never_ready_hangs for p, ch in by}))
    for i, (name, _, _) in enumerate(first.sidecar_never_ready):
        rows.append(
            (f"task UNHEALTHY: {name} never ready, probes fail fast", {p: ch.sidecar_never_ready[i][1] for p, ch in by})
        )
        rows.append(
            (f"task UNHEALTHY: {name} never ready, probes hang", {p: ch.sidecar_never_ready[i][2] for p, ch in by})
        )
    rows.append(("worst case, any container that decides the task's health (HC007)", {p: ch.worst[0] for p, ch in by}))
    return rows


def chained_lines(
    spec: ServiceSpec, chained: dict[str, ChainedTimings], startup: tuple[str, float] | None
) -> list[str]:
    """The chained timeline as text lines (`timeline`): the same rows as the report's table."""
    deciders = ", ".join(c.name for c in health_deciders(spec))
    out = [
        f"the task, chained (seconds since its containers could first start; its health is that of {deciders}; "
        "a sidecar's probe passes at once):"
    ]
    for label, values in chained_rows(spec, chained, startup):
        parts = "; ".join(f"{p} {chain_cell([v])}" + ("" if v is None else " s") for p, v in values.items())
        line = f"  {label}: {parts}"
        if len(values) > 1:
            span = chain_cell(list(values.values()))
            line += f" (Fargate: {span}{'' if span == 'PENDING' else ' s'})"
        out.append(line)
    return out


def chain_cell(values: list[float | None]) -> str:
    """Seconds, a range over profiles, or PENDING (the task never turns HEALTHY or UNHEALTHY)."""
    if any(v is None for v in values):
        return "PENDING"
    return _span(Span.of(v for v in values if v is not None))


def declared_startup(spec: ServiceSpec) -> tuple[str, float] | None:
    if spec.startup_p95 is not None:
        return "p95", spec.startup_p95
    if spec.startup_typical is not None:
        return "typical", spec.startup_typical
    return None


def build(catalog: Catalog, *, ok_seconds: float = 0.0) -> list[ServiceReport]:
    out = []
    for spec in catalog.services:
        startup = declared_startup(spec)
        out.append(
            ServiceReport(
                spec=spec,
                sizes=tuple(catalog.sizes[s] for s in spec.sizes),
                rendered=render_health_check(spec),
                startup=startup,
                timings=timings(spec.health_check, ok_seconds=ok_seconds, startup=startup[1] if startup else None),
                findings=tuple(lint_service(spec)),
                chained=chained_by_profile(spec, ok_seconds=ok_seconds, startup=startup[1] if startup else None),
            )
        )
    return out


# ---- JSON -------------------------------------------------------------------------------------


def _span_json(span: Span) -> list[float]:
    return [span.low, span.high]


def _chained_json(r: ServiceReport) -> dict[str, object]:
    assert r.chained is not None
    return chained_json(r.spec, r.chained, r.startup)


def chained_json(
    spec: ServiceSpec, chained: dict[str, ChainedTimings], startup: tuple[str, float] | None
) -> dict[str, object]:
    """The chained timeline as JSON (report --format json, timeline --format json)."""
    rows = chained_rows(spec, chained, startup)
    return {
        "health_deciders": [c.name for c in health_deciders(spec)],
        "profiles": {
            p: {
                "containers": [
                    {"name": c.name, "starts": c.starts, "healthy": c.healthy, "decides_task_health": c.decides}
                    for c in ch.containers
                ],
                "server_starts": ch.server_starts,
                "ready": ch.ready,
                "ready_when_started": ch.ready_when_started,
                "never_ready_refused": ch.never_ready_refused,
                "never_ready_hangs": ch.never_ready_hangs,
                "sidecar_never_ready": [
                    {"sidecar": name, "refused": fast, "hangs": hang} for name, fast, hang in ch.sidecar_never_ready
                ],
                "worst": {"seconds": ch.worst[0], "case": ch.worst[1]},
            }
            for p, ch in chained.items()
        },
        "rows": [{"event": label, "seconds": values} for label, values in rows],
    }


def to_json(reports: list[ServiceReport], *, ok_seconds: float = 0.0) -> str:
    services = []
    for r in reports:
        hc, t = r.spec.health_check, r.timings
        services.append(
            {
                "service": r.spec.name,
                "file": r.spec.source.file,
                "port": r.spec.port,
                "probe_port": r.rendered.port,
                "command": list(r.rendered.command),
                "interval": hc.interval,
                "timeout": hc.timeout,
                "retries": hc.retries,
                "start_period": hc.start_period,
                "give_up": hc.give_up,
                "declared_startup": None if r.startup is None else {"kind": r.startup[0], "seconds": r.startup[1]},
                "sizes": [{"name": s.name, "cpu": s.cpu, "memory": s.memory} for s in r.sizes],
                "profiles": {p: asdict(v) for p, v in t.by_profile.items()},
                "fargate_range": {
                    "earliest_healthy": _span_json(t.span("earliest_healthy")),
                    "healthy_when_started": (None if r.startup is None else _span_json(t.span("healthy_when_started"))),
                    "unhealthy_fast": _span_json(t.span("unhealthy_fast")),
                    "unhealthy_hang": _span_json(t.span("unhealthy_hang")),
                    "detect_fast": [t.span("detect_fast", 0).low, t.span("detect_fast", 1).high],
                    "detect_hang": [t.span("detect_hang", 0).low, t.span("detect_hang", 1).high],
                },
                "notes_estimate": notes_estimate(hc),
                "chained": None if r.chained is None else _chained_json(r),
                "findings": [asdict(f) for f in r.findings],
            }
        )
    doc = {
        "generated_by": "hubspec report --format json",
        "profiles": dict(PROFILE_HELP),
        "assumptions": {
            "passing_probe_seconds": ok_seconds,
            "refused_probe_seconds": 0.0,
            "hanging_probe_seconds": "give_up",
            "start_interval_seconds": DOCKER_START_INTERVAL,
        },
        "services": services,
    }
    return json.dumps(doc, indent=2, sort_keys=False) + "\n"


# ---- Markdown ---------------------------------------------------------------------------------


def _s(value: float) -> str:
    return f"{value:g}"


def _span(span: Span) -> str:
    return _s(span.low) if span.low == span.high else f"{_s(span.low)}–{_s(span.high)}"


def _pair(pair: tuple[float, float]) -> str:
    return _s(pair[0]) if pair[0] == pair[1] else f"{_s(pair[0])}–{_s(pair[1])}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _command(rendered: RenderedHealthCheck, *, in_table: bool = False) -> str:
    kind, *rest = rendered.command
    shown = rest[0] if kind == "CMD-SHELL" else json.dumps(list(rendered.command[1:]))
    return f"{kind} `{_cell(shown) if in_table else shown}`"


def _lint_cell(findings: tuple[Finding, ...]) -> str:
    if not findings:
        return "clean"
    parts = []
    for f in findings:
        mark = "error" if f.severity == "error" else ("ack'd" if f.acknowledged else "warning")
        parts.append(f"{f.rule} ({mark})")
    return ", ".join(parts)


def _summary_table(reports: list[ServiceReport]) -> list[str]:
    lines = [
        "| service | size | cpu / MiB | port → probe port | probe command | I / T / R / S (s) | earliest HEALTHY | "
        "UNHEALTHY if never ready: fast / hang | failure after healthy, worst: fast / hang | notes S + I×R | lint |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in reports:
        hc, t = r.spec.health_check, r.timings
        for size in r.sizes:
            lines.append(
                f"| {r.spec.name} | {size.name} | {size.cpu} / {size.memory} | {r.spec.port} → {r.rendered.port} | "
                f"{_command(r.rendered, in_table=True)} | {hc.interval} / {hc.timeout} / {hc.retries} / {hc.start_period} | "
                f"{_span(t.span('earliest_healthy'))} | "
                f"{_span(t.span('unhealthy_fast'))} / {_span(t.span('unhealthy_hang'))} | "
                f"{_span(t.span('detect_fast', 1))} / {_span(t.span('detect_hang', 1))} | "
                f"{notes_estimate(hc)} | {_lint_cell(r.findings)} |"
            )
    return lines


def _chained_summary(reports: list[ServiceReport]) -> list[str]:
    """Services whose task waits on sidecars: the task's numbers next to the server's own (Fargate ranges)."""
    chained = [r for r in reports if r.chained is not None]
    if not chained:
        return []
    lines = [
        "Tasks whose containers wait for each other or share its health (the table above shows the server's container alone; "
        "here, seconds since the task started):",
        "",
        "| service | server starts | task HEALTHY | UNHEALTHY, server never ready: fast / hang | "
        "UNHEALTHY, a sidecar never ready: fast / hang | worst (HC007) |",
        "|---|---|---|---|---|---|",
    ]
    for r in chained:
        assert r.chained is not None
        by = list(r.chained.values())
        sidecars = "; ".join(
            f"{name} {chain_cell([ch.sidecar_never_ready[i][1] for ch in by])} / "
            f"{chain_cell([ch.sidecar_never_ready[i][2] for ch in by])}"
            for i, (name, _, _) in enumerate(by[0].sidecar_never_ready)
        )
        lines.append(
            f"| {r.spec.name} | {chain_cell([ch.server_starts for ch in by])} | {chain_cell([ch.ready for ch in by])} | "
            f"{chain_cell([ch.never_ready_refused for ch in by])} / {chain_cell([ch.never_ready_hangs for ch in by])} | "
            f"{sidecars or '–'} | {chain_cell([ch.worst[0] for ch in by])} |"
        )
    return [*lines, ""]


def _detail(r: ServiceReport) -> list[str]:
    spec, hc, t = r.spec, r.spec.health_check, r.timings
    profiles = list(t.by_profile)
    sizes = ", ".join(f"{s.name} ({s.cpu} cpu / {s.memory} MiB)" for s in r.sizes)
    head = "| seconds | " + " | ".join(profiles) + " | Fargate (range) | notes' S + I×R |"
    rows = [head, "|---|" + "---|" * (len(profiles) + 2)]

    def row(label: str, values: list[str], span: str, notes: str = "") -> None:
        rows.append(f"| {label} | " + " | ".join(values) + f" | {span} | {notes} |")

    by = t.by_profile
    row(
        "earliest HEALTHY (server ready at 0 s)",
        [_s(by[p].earliest_healthy) for p in profiles],
        _span(t.span("earliest_healthy")),
    )
    if r.startup is not None:
        kind, seconds = r.startup
        row(
            f"HEALTHY when ready at the {kind} start-up ({_s(seconds)} s)",
            [_s(v) if (v := by[p].healthy_when_started) is not None else "–" for p in profiles],
            _span(t.span("healthy_when_started")),
        )
    row(
        "UNHEALTHY if never ready, probes fail fast",
        [_s(by[p].unhealthy_fast) for p in profiles],
        _span(t.span("unhealthy_fast")),
        str(notes_estimate(hc)),
    )
    row(
        "UNHEALTHY if never ready, probes hang",
        [_s(by[p].unhealthy_hang) for p in profiles],
        _span(t.span("unhealthy_hang")),
        str(notes_estimate(hc)),
    )
    row(
        "failure after healthy → UNHEALTHY, fast failures (best–worst)",
        [_pair(by[p].detect_fast) for p in profiles],
        _pair((t.span("detect_fast", 0).low, t.span("detect_fast", 1).high)),
    )
    row(
        "failure after healthy → UNHEALTHY, hanging probes (best–worst)",
        [_pair(by[p].detect_hang) for p in profiles],
        _pair((t.span("detect_hang", 0).low, t.span("detect_hang", 1).high)),
    )

    out = [
        f"## {spec.name}",
        "",
        f"`{spec.source.file}` · {spec.description or spec.name}",
        "",
        f"- port {spec.port}, probe port {r.rendered.port}; sizes: {sizes} (the health check is the same for every size)",
        f"- probe ({hc.probe if not hc.custom_health_command else 'custom command'}): {_command(r.rendered)}",
        f"- interval {hc.interval} s, timeout {hc.timeout} s (the probe gives up after {_s(hc.give_up)} s), "
        f"retries {hc.retries}, start_period {hc.start_period} s"
        + (f"; declared {r.startup[0]} start-up {_s(r.startup[1])} s" if r.startup else "; no declared start-up time"),
        "",
        *rows,
        "",
    ]
    if r.chained is not None:
        deciders = ", ".join(c.name for c in health_deciders(spec))
        out += [
            f"The task, chained (seconds since its containers could first start): the {spec.name} container "
            "starts when every container it waits on for HEALTHY is HEALTHY, and the task's health is that of "
            f"its essential containers with checks ({deciders}); a sidecar's probe passes at once.",
            "",
            "| seconds since the task started | " + " | ".join(profiles) + " | Fargate (range) |",
            "|---|" + "---|" * (len(profiles) + 1),
        ]
        for label, values in chained_rows(spec, r.chained, r.startup):
            cells = [chain_cell([values[p]]) for p in profiles]
            out.append(f"| {label} | " + " | ".join(cells) + f" | {chain_cell(list(values.values()))} |")
        out.append("")
    if r.findings:
        out.append(
            f"Lint: {len(errors(list(r.findings)))} error(s), {len(open_warnings(list(r.findings)))} open warning(s)."
        )
        out.append("")
        for f in r.findings:
            state = f" — acknowledged: {f.acknowledged}" if f.acknowledged else ""
            out.append(
                f"- **{f.severity} {f.rule}** `{f.file}:{f.line}` `{f.path}`: {f.message}."
                + (f" Fix: {f.hint}." if f.hint else "")
                + state
            )
    else:
        out.append("Lint: clean.")
    out.append("")
    ready = r.startup[1] if r.startup else 0.0
    if r.chained is not None:
        when = ", ".join(f"{p} {_s(ch.server_starts)} s" for p, ch in r.chained.items())
        out += [f"The timelines below count from the {spec.name} container's start ({when} into the task).", ""]
    for heading, source in report_diagrams(spec, ready=ready, ok_seconds=t.ok_seconds):
        out.extend([f"Timeline, {heading} (seconds since the container started, as mm:ss):", "", "```mermaid"])
        out.extend([source.rstrip("\n"), "```", ""])
    return out


def to_markdown(reports: list[ServiceReport], *, ok_seconds: float = 0.0) -> str:
    profiles = "\n".join(f"- **{p}**: {PROFILE_HELP[p]}." for p in PROFILES)
    lines = [
        "# Health checks: simulated timing and lint",
        "",
        f"<!-- Generated by `hubspec report`; do not edit. Regenerate: {REGENERATE} -->",
        "",
        "Every number is simulated probe by probe on the engine's health state machine "
        "(`hubspec/health/healthstate.py`, the rules of moby's `daemon/health.go`), in seconds since the container "
        'started, or since the failure for "failure after healthy". Each number names its engine profile:',
        "",
        profiles,
        "- **Fargate** runs its own, undocumented agent: expect a value in the range over the profiles above.",
        "",
        f"Assumptions: a passing probe takes {_s(ok_seconds)} s, a refused probe 0 s, a hanging probe runs until "
        "the probe gives up (a rendered probe one second before the timeout: curl `--max-time T-1`; a custom "
        'command at its curl `--max-time`, else at the timeout). "Worst" failure detection: the server breaks just after a probe began; "best": just before '
        "one. The design notes' `S + I×R` is shown for comparison only: it is neither bound.",
        "",
        "## Summary (Fargate ranges over profiles, seconds)",
        "",
        *_summary_table(reports),
        "",
        *_chained_summary(reports),
    ]
    for r in reports:
        lines.extend(_detail(r))
    return "\n".join(lines).rstrip("\n") + "\n"


# ---- timeline ---------------------------------------------------------------------------------

_MODE_TEXT = {
    "up": "server answers (probes pass)",
    "refused": "server refuses connections (probes fail fast)",
    "hangs": "server hangs (probes run until the timeout)",
}


def timeline_lines(spec: ServiceSpec, sim: Simulation, behaviour: Behaviour, *, until: float) -> list[str]:
    """The notes' "Detection Timeline", but simulated: one line per event, in time order."""
    hc = spec.health_check
    events: list[tuple[float, int, str]] = [(0.0, 0, "container starts; status starting (ECS: UNKNOWN)")]
    if hc.start_period > 0:
        events.append((float(hc.start_period), 2, f"start_period ({hc.start_period} s) ends"))
    last = max([until] + [p.end for p in sim.probes])
    previous = None
    for at, mode in behaviour.phase_changes(last):
        if mode != previous:
            events.append((at, 1, _MODE_TEXT[mode]))
        previous = mode
    for p in sim.probes:
        took = p.end - p.start
        if p.passed:
            result = "passed" + (f" in {_s(took)} s" if took else "")
        elif p.timed_out:
            result = f"gave up after {_s(took)} s (failure)"
        else:
            result = "failed (refused)" + (f" in {_s(took)} s" if took else "")
        if p.passed:
            effect = ""
        elif p.counted:
            effect = f"; counted failure {p.streak}/{hc.retries}"
        else:
            effect = f"; not counted: started inside start_period ({_s(p.start)} < {hc.start_period}), never healthy"
        change = next((s for at, s in sim.changes if at == p.end and s == p.status), None)
        arrow = f" → {change.upper()}" if change else ""
        if took:
            events.append((p.start, 3, f"probe #{p.number} starts"))
        events.append((p.end, 4, f"probe #{p.number}: {result}{effect}{arrow}"))
    events = [e for e in events if e[0] <= until]
    events.sort(key=lambda e: (e[0], e[1]))
    width = len(_s(max(e[0] for e in events)))
    return [f"{_s(at).rjust(width)}s  {text}" for at, _, text in events]

"""Mermaid gantt diagrams of a simulated health-check timeline (`timeline --format mermaid`, the report).

One section for the server (what a probe meets, phase by phase), one per engine
profile with every probe as a bar (passed: active; counted failure: crit;
failure that did not count: done) and each status change as a milestone, and
start_period as a bar. Times are seconds since the container started, written as
HH:mm:ss from 00:00:00 (Mermaid's gantt needs clock times); bars shorter than a
second are drawn one second long, so the label of each bar gives the exact times.
GitHub renders ```mermaid blocks in Markdown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hubspec.health.healthstate import HEALTHY, PROFILES, UNHEALTHY
from hubspec.health.timing import HANGS, REFUSED, Behaviour, ProbeRun, Simulation, never_ready, ready_at, simulate
from hubspec.model import ServiceSpec

MODE_TEXT = {"up": "answers", "refused": "refuses connections", "hangs": "hangs"}


def _clock(seconds: float) -> str:
    total = max(0, round(seconds))
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


def _secs(value: float) -> str:
    return f"{round(value, 3):g}"


def _label(text: str) -> str:
    """A task name Mermaid accepts: no ':' (it ends the name), '#', ';' or ','."""
    return text.replace(":", " ").replace("#", "no. ").replace(";", " ").replace(",", " ")


def _bar(name: str, start: float, end: float, tag: str = "") -> str:
    length = max(1, round(end) - round(start))
    tags = f"{tag}, " if tag else ""
    return f"    {_label(name)} :{tags}{_clock(start)}, {length}s"


@dataclass(frozen=True)
class Scene:
    """One scenario simulated per engine profile, ready to draw (Mermaid here, SVG in hubspec.health.svgdiagram)."""

    spec: ServiceSpec
    behaviour: Behaviour
    sims: Mapping[str, Simulation]
    title: str
    last: float  # how far to draw: the end state (or the asked time), and the last probe begun by then


def mermaid_gantt(scene: Scene) -> str:
    """The gantt source (without the ``` fence) for one scenario, one section per profile."""
    spec, behaviour, sims, title, last = scene.spec, scene.behaviour, scene.sims, scene.title, scene.last
    hc = spec.health_check
    lines = [
        "gantt",
        "    title " + " ".join(title.replace(";", ",").replace("#", "no. ").split()),  # a title ends at ; or #
        "    dateFormat HH:mm:ss",
        "    axisFormat %M:%S",
        "    section server",
    ]
    phases = server_phases(behaviour, last)
    for (start, mode), (end, _) in zip(phases, phases[1:] + [(last, "")], strict=True):
        if end > start:
            tag = "active" if mode == "up" else "crit"
            lines.append(_bar(f"{MODE_TEXT[mode]} {_secs(start)}-{_secs(end)} s", start, end, tag))
    if hc.start_period > 0:
        lines.append(_bar(f"start_period 0-{hc.start_period} s", 0.0, float(hc.start_period), "done"))
    for profile, sim in sims.items():
        lines.append(f"    section {profile}")
        for p in sim.probes:
            result, kind = probe_result(p, hc.retries)
            tag = _PROBE_TAG[kind]
            when = f"at {_secs(p.start)} s" if p.end == p.start else f"{_secs(p.start)}-{_secs(p.end)} s"
            lines.append(_bar(f"probe {p.number} {when} {result}", p.start, p.end, tag))
        for at, status in sim.changes:
            if status in (HEALTHY, UNHEALTHY):
                lines.append(f"    {status.upper()} at {_secs(at)} s :milestone, {_clock(at)}, 0s")
    return "\n".join(lines) + "\n"


PASSED, COUNTED, NOT_COUNTED = "passed", "counted", "not-counted"
_PROBE_TAG = {PASSED: "active", COUNTED: "crit", NOT_COUNTED: "done"}


def probe_result(probe: ProbeRun, retries: int) -> tuple[str, str]:
    """(what the probe did, in words; its kind: passed, counted failure, failure that did not count)."""
    if probe.passed:
        return "passes", PASSED
    if probe.counted:
        return f"fails {probe.streak}/{retries}", COUNTED
    return "fails (not counted)", NOT_COUNTED


def horizon(spec: ServiceSpec, behaviour: Behaviour) -> float:
    """How long `timeline` simulates by default: long enough for UNHEALTHY after the last phase change."""
    hc = spec.health_check
    last_phase = max((start for start, _ in behaviour.phases), default=0.0)
    return hc.start_period + (hc.retries + 3) * (hc.interval + hc.timeout) + 5 + last_phase


def scene(
    spec: ServiceSpec,
    behaviour: Behaviour,
    *,
    title: str,
    profiles: tuple[str, ...] = PROFILES,
    until: float | None = None,
    stop_at: tuple[str, ...] = (HEALTHY, UNHEALTHY),
) -> Scene:
    """Each profile simulated up to `until`, else to the first status in `stop_at`."""
    hc = spec.health_check
    end = horizon(spec, behaviour) if until is None else until
    stop = () if until is not None else stop_at
    sims = {p: simulate(hc, behaviour, profile=p, until=end, stop_at=stop) for p in profiles}
    ends = [sim.probes[-1].end for sim in sims.values() if sim.probes and sim.probes[-1].status in stop]
    shown = max(ends) if stop and len(ends) == len(sims) else end  # as the text timeline: up to the end state
    last = max([shown] + [p.end for sim in sims.values() for p in sim.probes if p.start <= shown])
    return Scene(spec, behaviour, sims, title, last)


def report_diagrams(spec: ServiceSpec, *, ready: float, ok_seconds: float) -> list[tuple[str, str]]:
    """(heading, gantt source) for the report: ready at `ready`, never ready (refused), never ready (hanging)."""
    hc = spec.health_check
    check = f"{spec.name} (I/T/R/S {hc.interval}/{hc.timeout}/{hc.retries}/{hc.start_period})"
    cases = [
        (f"ready: the server answers from {ready:g} s", ready_at(ready, ok_seconds=ok_seconds), (HEALTHY, UNHEALTHY)),
        ("never ready: probes are refused", never_ready(REFUSED), (UNHEALTHY,)),
        ("never ready: probes hang until they give up", never_ready(HANGS), (UNHEALTHY,)),
    ]
    return [
        (heading, mermaid_gantt(scene(spec, b, title=f"{check} {heading}", stop_at=stop))) for heading, b, stop in cases
    ]


def server_phases(behaviour: Behaviour, until: float) -> list[tuple[float, str]]:
    """(start, mode) of each phase before `until`, flapping repeated, equal neighbours merged."""
    out: list[tuple[float, str]] = []
    for at, mode in behaviour.phase_changes(until):
        if at < until and (not out or out[-1][1] != mode):
            out.append((at, mode))
    return out

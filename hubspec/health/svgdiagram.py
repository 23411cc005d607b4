"""A standalone SVG of a simulated health-check timeline (`timeline --format svg`).

The same picture as the Mermaid gantt (hubspec/health/diagram.py), drawn by hand with
xml.etree: a row for the server (what a probe meets, phase by phase), a row for
start_period, and one row per engine profile with every probe as a bar (green:
passed, red: a failure that counted, grey: a failure inside start_period that did
not count) and each status change as a marked line with its time. Every shape has
a <title> (a tooltip in browsers) with the exact times. Times are seconds since
the container started, to scale on the horizontal axis.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Callable

from hubspec.health.diagram import COUNTED, MODE_TEXT, NOT_COUNTED, PASSED, Scene, probe_result, server_phases
from hubspec.health.healthstate import HEALTHY, UNHEALTHY

SVG_NS = "http://www.w3.org/2000/svg"
WIDTH = 960
LEFT = 120  # the row labels' column
RIGHT = 24
TOP = 48  # the title
ROW = 34
BAR = 18
AXIS = 34
COLOURS = {
    PASSED: "#2e9e44",
    COUNTED: "#d64541",
    NOT_COUNTED: "#a0a4a8",
    "up": "#2e9e44",
    "refused": "#d64541",
    "hangs": "#e8912d",
    "start_period": "#c9d8f0",
    HEALTHY: "#1b7a32",
    UNHEALTHY: "#b0201c",
}
_STEPS = (1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1800, 3600)


def _secs(value: float) -> str:
    return f"{round(value, 3):g}"


def _tick_step(span: float) -> float:
    """A round step that gives at most about 12 ticks over `span` seconds."""
    return next((s for s in _STEPS if span / s <= 12), math.ceil(span / 12))


def svg_timeline(scene: Scene) -> str:
    """The SVG document (with its XML declaration) for one scenario, one row per profile."""
    spec, behaviour, sims, title = scene.spec, scene.behaviour, scene.sims, scene.title
    hc = spec.health_check
    last = max(scene.last, 1.0)
    scale = (WIDTH - LEFT - RIGHT) / last

    def x(t: float) -> float:
        return round(LEFT + t * scale, 2)

    rows = 2 + len(sims)
    height = TOP + rows * ROW + AXIS
    ET.register_namespace("", SVG_NS)
    svg = ET.Element(
        f"{{{SVG_NS}}}svg",
        {
            "width": str(WIDTH),
            "height": str(height),
            "viewBox": f"0 0 {WIDTH} {height}",
            "font-family": "sans-serif",
            "font-size": "12",
        },
    )
    _sub(svg, "title", text=title)
    _sub(svg, "rect", x="0", y="0", width=str(WIDTH), height=str(height), fill="#ffffff")
    _sub(svg, "text", x="8", y="22", text=title, **{"font-size": "14", "font-weight": "bold"})

    def row(index: int, label: str, css: str) -> tuple[ET.Element, float]:
        group = _sub(svg, "g", **{"class": css})
        top = TOP + index * ROW
        _sub(group, "text", x="8", y=str(top + BAR - 4), text=label)
        return group, top

    server, top = row(0, "server", "server")
    phases = server_phases(behaviour, last)
    for (start, mode), (end, _) in zip(phases, phases[1:] + [(last, "")], strict=True):
        if end > start:
            text = f"{MODE_TEXT[mode]} {_secs(start)}-{_secs(end)} s"
            _bar(server, x(start), x(end), top, COLOURS[mode], text, mode=mode)
    period, top = row(1, "start_period", "start-period")
    if hc.start_period > 0:
        _bar(
            period,
            x(0),
            x(min(hc.start_period, last)),
            top,
            COLOURS["start_period"],
            f"start_period 0-{hc.start_period} s",
        )
    for index, (profile, sim) in enumerate(sims.items(), start=2):
        group, top = row(index, profile, f"profile {profile}")
        for p in sim.probes:
            result, kind = probe_result(p, hc.retries)
            when = f"at {_secs(p.start)} s" if p.end == p.start else f"{_secs(p.start)}-{_secs(p.end)} s"
            _bar(group, x(p.start), x(p.end), top, COLOURS[kind], f"probe {p.number} {when} {result}", probe=kind)
        for at, status in sim.changes:
            if status in (HEALTHY, UNHEALTHY):
                _change(group, x(at), top, at, status)
    _axis(svg, last, x, TOP + rows * ROW)
    body = ET.tostring(svg, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def _sub(parent: ET.Element, tag: str, *, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{SVG_NS}}}{tag}", attributes)
    if text is not None:
        element.text = text
    return element


def _bar(parent: ET.Element, left: float, right: float, top: float, colour: str, text: str, **data: str) -> ET.Element:
    attributes = {f"data-{k}": v for k, v in data.items()}
    rect = _sub(
        parent,
        "rect",
        x=str(left),
        y=str(top),
        width=str(max(2.0, round(right - left, 2))),  # an instant probe is still visible
        height=str(BAR),
        fill=colour,
        stroke="#ffffff",
        **{"stroke-width": "0.5"},
        **attributes,
    )
    _sub(rect, "title", text=text)
    return rect


def _change(parent: ET.Element, at_x: float, top: float, at: float, status: str) -> None:
    group = _sub(parent, "g", **{"class": "change", "data-status": status, "data-at": _secs(at)})
    label = f"{status.upper()} at {_secs(at)} s"
    _sub(group, "title", text=label)
    colour = COLOURS[status]
    _sub(
        group,
        "line",
        x1=str(at_x),
        x2=str(at_x),
        y1=str(top - 4),
        y2=str(top + BAR + 4),
        stroke=colour,
        **{"stroke-width": "2"},
    )
    anchor = "end" if at_x > WIDTH - RIGHT - 140 else "start"
    shift = -4 if anchor == "end" else 4
    _sub(
        group,
        "text",
        x=str(round(at_x + shift, 2)),
        y=str(top + BAR + 12),
        fill=colour,
        text=label,
        **{"text-anchor": anchor, "font-weight": "bold", "font-size": "11"},
    )


def _axis(svg: ET.Element, last: float, x: Callable[[float], float], top: float) -> None:
    group = _sub(svg, "g", **{"class": "axis"})
    _sub(group, "line", x1=str(x(0)), x2=str(x(last)), y1=str(top), y2=str(top), stroke="#555555")
    step = _tick_step(last)
    tick = 0.0
    while tick <= last + 1e-9:
        _sub(group, "line", x1=str(x(tick)), x2=str(x(tick)), y1=str(top), y2=str(top + 5), stroke="#555555")
        _sub(group, "text", x=str(x(tick)), y=str(top + 18), text=f"{tick:g}", **{"text-anchor": "middle"})
        tick += step
    _sub(
        group,
        "text",
        x=str(WIDTH - RIGHT),
        y=str(top + 30),
        text="seconds since the container started",
        **{"text-anchor": "end", "font-size": "11"},
    )

"""`hubspec` (also `python -m hubspec`): check, report and timeline for the hub's service health checks.

Exit codes: 0 ok; 1 spec or lint errors (`check`), or specs that do not load;
2 usage errors (argparse's own code, also for an unknown service).
The `tune` and `probe` commands live in hubspec.health.tune and hubspec.health.liveprobe; each
module registers itself through `add_parser(subparsers)` when it is installed.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from hubspec.cli import results
from hubspec.errors import SpecErrors
from hubspec.health import diagram, lint, report, svgdiagram, timing
from hubspec.health.healthstate import HEALTHY, PROFILE_HELP, PROFILES, UNHEALTHY
from hubspec.loader import SERVICES_DIRNAME, SIZES_FILENAME, load_catalog
from hubspec.model import Catalog, ServiceSpec

OK, FAILED, USAGE = 0, 1, 2
PLUGINS = ("hubspec.health.tune", "hubspec.health.liveprobe", "hubspec.health.observed")


class UsageError(Exception):
    """A well-formed command line that names something that does not exist (exit 2)."""


def load(args: argparse.Namespace) -> Catalog:
    return load_catalog(Path(args.services_dir), Path(args.sizes_file))


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value < 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r}: expected a finite number of seconds >= 0")
    return value


def _positive(text: str) -> float:
    value = _non_negative(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number of seconds > 0")
    return value


# ---- check ------------------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace) -> int:
    try:
        catalog = load(args)
    except SpecErrors as exc:
        result = results.from_spec_errors(exc.errors)
    else:
        result = results.build(
            findings=lint.lint_catalog(catalog),
            folder_warnings=catalog.warnings,
            services=[s.name for s in catalog.services],
        )
    if args.format == "json":
        sys.stdout.write(results.to_json(result, strict=args.strict))
    elif args.format == "github":
        sys.stdout.write(results.to_github(result))
    else:
        out, err = results.to_text(result)
        sys.stdout.write(out)
        sys.stderr.write(err)
    return result.exit_code(strict=args.strict)


# ---- report -----------------------------------------------------------------------------------


def cmd_report(args: argparse.Namespace) -> int:
    catalog = load(args)
    try:
        reports = report.build(catalog, ok_seconds=args.probe_seconds)
    except ValueError as exc:  # --probe-seconds longer than a service's timeout
        raise UsageError(str(exc)) from None
    if args.format == "json":
        sys.stdout.write(report.to_json(reports, ok_seconds=args.probe_seconds))
    else:
        sys.stdout.write(report.to_markdown(reports, ok_seconds=args.probe_seconds))
    return OK


# ---- timeline ---------------------------------------------------------------------------------


def _scenario(args: argparse.Namespace, spec: ServiceSpec) -> tuple[timing.Behaviour, str, tuple[str, ...]]:
    """The behaviour asked for, a sentence describing it, and the statuses that end the run.

    UNHEALTHY always ends it: a task started with RunTask is not restarted, and the spawner gives up on it.
    """
    d = args.probe_seconds
    if args.never_ready:
        return (
            timing.never_ready(args.never_ready),
            f"the server never answers (probes {'hang' if args.never_ready == timing.HANGS else 'fail fast'})",
            (UNHEALTHY,),
        )
    if args.flap:
        up, down = args.flap
        return (
            timing.flapping(up, down, mode=args.fail_mode, ok_seconds=d),
            f"the server flaps: up {up:g} s, then {args.fail_mode} for {down:g} s, repeating",
            (),
        )
    ready, why = args.ready_at, "--ready-at"
    if ready is None:
        declared = report.declared_startup(spec)
        ready, why = (declared[1], f"declared {declared[0]} start-up") if declared else (0.0, "no declared start-up")
    if args.fail_at is not None:
        if args.fail_at <= ready:
            raise UsageError(f"--fail-at {args.fail_at:g} must be later than the ready time {ready:g}")
        return (
            timing.fails_at(args.fail_at, mode=args.fail_mode, ok_seconds=d, ready=ready),
            f"the server answers from {ready:g} s ({why}) and breaks ({args.fail_mode}) at {args.fail_at:g} s",
            (UNHEALTHY,),
        )
    return (
        timing.ready_at(ready, ok_seconds=d, before=args.before),
        f"the server answers from {ready:g} s ({why}); before that, probes "
        + ("are refused" if args.before == timing.REFUSED else "hang"),
        (HEALTHY, UNHEALTHY),
    )


def cmd_timeline(args: argparse.Namespace) -> int:
    catalog = load(args)
    try:
        spec = catalog.service(args.service)
    except KeyError as exc:
        raise UsageError(exc.args[0]) from None
    if args.fail_at is not None and (args.never_ready or args.flap):
        raise UsageError("--fail-at cannot be combined with --never-ready or --flap")
    hc = spec.health_check
    try:
        timing.check_probe_seconds(hc, args.probe_seconds)
    except ValueError as exc:
        raise UsageError(f"--probe-seconds: {spec.name}: {exc}") from None
    behaviour, described, stop_at = _scenario(args, spec)
    profiles = PROFILES if args.profile == "all" else (args.profile,)
    horizon = diagram.horizon(spec, behaviour)
    until = args.until if args.until is not None else horizon
    stop = () if args.until is not None else stop_at
    declared = report.declared_startup(spec)
    chained = report.chained_by_profile(
        spec, ok_seconds=args.probe_seconds, startup=declared[1] if declared else None, profiles=profiles
    )
    if args.format == "json":
        sims = {p: timing.simulate(hc, behaviour, profile=p, until=until, stop_at=stop) for p in profiles}
        doc = {
            "service": spec.name,
            "scenario": described,
            "profiles": {
                p: {"probes": [asdict(x) for x in sim.probes], "changes": [list(c) for c in sim.changes]}
                for p, sim in sims.items()
            },
            "chained": None if chained is None else report.chained_json(spec, chained, declared),
        }
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return OK
    if args.format in ("mermaid", "svg"):
        title = f"{spec.name} (I/T/R/S {hc.interval}/{hc.timeout}/{hc.retries}/{hc.start_period}) - {described}"
        scene = diagram.scene(spec, behaviour, title=title, profiles=profiles, until=args.until, stop_at=stop_at)
        draw = diagram.mermaid_gantt if args.format == "mermaid" else svgdiagram.svg_timeline
        sys.stdout.write(draw(scene))
        return OK
    print(
        f"{spec.name}: interval {hc.interval} s, timeout {hc.timeout} s, retries {hc.retries}, "
        f"start_period {hc.start_period} s; a passing probe takes {args.probe_seconds:g} s; "
        f"{hc.give_up_text}"
    )
    print(f"scenario: {described}")
    if chained is not None:
        when = "; ".join(f"{p} {ch.server_starts:g} s" for p, ch in chained.items())
        print(f"times below count from the {spec.name} container's start, {when} into the task (chained: see the end)")
    sims = {}
    for profile in profiles:
        sim = timing.simulate(hc, behaviour, profile=profile, until=until, stop_at=stop)
        sims[profile] = sim
        shown_until = sim.probes[-1].end if sim.probes and sim.probes[-1].status in stop else until
        print()
        print(f"== {profile} profile: {PROFILE_HELP[profile]}")
        for line in report.timeline_lines(spec, sim, behaviour, until=shown_until):
            print(line)
    print()
    reached_any = any(sim.first(s) is not None for sim in sims.values() for s in stop)
    for status in stop or (HEALTHY, UNHEALTHY):
        firsts = {p: sim.first(status) for p, sim in sims.items()}
        if all(v is None for v in firsts.values()):
            if not stop or (status == stop[0] and not reached_any):
                print(f"never {status.upper()} within {until:g} s")
            elif status == stop[0]:
                print(f"never {status.upper()}: the run stops at UNHEALTHY (ECS does not restart a RunTask task)")
            continue
        parts = [f"{p} {'not reached' if v is None else f'{v:g} s'}" for p, v in firsts.items()]
        line = f"first {status.upper()}: " + "; ".join(parts)
        if status == UNHEALTHY and args.fail_at is not None:
            line += (
                " ("
                + "; ".join(f"{p} {v - args.fail_at:g} s after the failure" for p, v in firsts.items() if v is not None)
                + ")"
            )
        print(line)
        reached = [v for v in firsts.values() if v is not None]
        if len(firsts) > 1 and len(reached) == len(firsts):
            low, high = min(reached), max(reached)
            print(
                f"  Fargate (engine undocumented): {low:g} s"
                if low == high
                else f"  Fargate (engine undocumented): {low:g}–{high:g} s"
            )
    if chained is not None:
        print()
        for line in report.chained_lines(spec, chained, declared):
            print(line)
    return OK


# ---- parser -----------------------------------------------------------------------------------


def _spec_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """On the main parser with defaults; on each command too, where SUPPRESS keeps the main value."""
    parser.add_argument(
        "--services-dir",
        default=SERVICES_DIRNAME if top else argparse.SUPPRESS,
        metavar="DIR",
        help=f"folder of service YAML files (default: ./{SERVICES_DIRNAME})",
    )
    parser.add_argument(
        "--sizes-file",
        default=SIZES_FILENAME if top else argparse.SUPPRESS,
        metavar="FILE",
        help=f"sizes YAML file (default: ./{SIZES_FILENAME})",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hubspec",
        description="Validate, lint and explain the hub services' ECS health checks.",
        epilog="exit codes: 0 ok, 1 spec or lint errors, 2 usage error",
    )
    _spec_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = sub.add_parser(
        "check",
        help="validate and lint every service (exit 1 on errors)",
        description="Validate services/*.yaml and sizes.yaml, then run the lint rules. "
        "Errors exit 1; warnings are printed (acknowledged ones with their reason).",
    )
    _spec_options(check, top=False)
    check.add_argument("--strict", action="store_true", help="also exit 1 on warnings nobody acknowledged")
    check.add_argument(
        "--format",
        choices=results.FORMATS,
        default="text",
        help="text (file:line: path: ...), json, or github (workflow annotations on the pull request's lines)",
    )
    check.set_defaults(func=cmd_check)

    rep = sub.add_parser(
        "report",
        help="simulated timing and lint findings per service × size",
        description="Print every service × size with its probe, I/T/R/S, simulated times per "
        f"engine profile and lint findings. Regenerate the committed copy: {report.REGENERATE}",
    )
    _spec_options(rep, top=False)
    rep.add_argument("--format", choices=("markdown", "json"), default="markdown", help="output format")
    rep.add_argument(
        "--probe-seconds",
        type=_non_negative,
        default=0.0,
        metavar="D",
        help="how long a passing probe takes (default 0)",
    )
    rep.set_defaults(func=cmd_report)

    tl = sub.add_parser(
        "timeline",
        help="probe-by-probe timeline of one service",
        description="Simulate one service's health check event by event and print every probe "
        "and status change with its time, per engine profile.",
    )
    _spec_options(tl, top=False)
    tl.add_argument("service", help="service name (from services/*.yaml)")
    tl.add_argument(
        "--profile",
        choices=PROFILES + ("all",),
        default="all",
        help="engine profile (default: all, as Fargate's engine is undocumented)",
    )
    scenario = tl.add_mutually_exclusive_group()
    scenario.add_argument(
        "--ready-at",
        type=_non_negative,
        metavar="T",
        help="the server answers from T seconds on (default: the declared start-up time, else 0)",
    )
    scenario.add_argument(
        "--never-ready",
        choices=(timing.REFUSED, timing.HANGS),
        help="the server never answers: probes are refused (fast) or hang until the timeout",
    )
    scenario.add_argument(
        "--flap",
        nargs=2,
        type=_positive,
        metavar=("UP", "DOWN"),
        help="the server is up UP seconds, then down DOWN seconds, repeating",
    )
    tl.add_argument(
        "--fail-at",
        type=_non_negative,
        metavar="F",
        help="after becoming ready, the server breaks at F seconds (shows failure detection)",
    )
    tl.add_argument(
        "--fail-mode",
        choices=(timing.REFUSED, timing.HANGS),
        default=timing.REFUSED,
        help="how a broken server fails probes, for --fail-at and --flap (default: refused)",
    )
    tl.add_argument(
        "--before",
        choices=(timing.REFUSED, timing.HANGS),
        default=timing.REFUSED,
        help="how probes fail before the server is ready (default: refused)",
    )
    tl.add_argument(
        "--probe-seconds",
        type=_non_negative,
        default=0.0,
        metavar="D",
        help="how long a passing probe takes (default 0)",
    )
    tl.add_argument(
        "--until",
        type=_positive,
        metavar="N",
        help="simulate exactly N seconds instead of stopping at HEALTHY/UNHEALTHY",
    )
    tl.add_argument(
        "--format",
        choices=("text", "json", "mermaid", "svg"),
        default="text",
        help="text (default), json (every probe and status change, and the chained task timeline), a Mermaid "
        "gantt diagram, or a standalone SVG picture: probes, start_period and status changes per profile",
    )
    tl.set_defaults(func=cmd_timeline)

    for name in PLUGINS:
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name).add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) and usage errors (2)
        return int(exc.code or 0) if not isinstance(exc.code, str) else USAGE
    if args.command is None:
        parser.print_help(sys.stderr)
        return USAGE
    try:
        return int(args.func(args))
    except SpecErrors as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        print(f"{len(exc.errors)} spec error(s)", file=sys.stderr)
        return FAILED
    except UsageError as exc:
        print(f"{parser.prog} {args.command}: error: {exc}", file=sys.stderr)
        return USAGE


def run() -> None:
    """The `hubspec` console script (and `python -m hubspec`): main() with the exit code."""
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:  # `hubspec report | head`: stop quietly, like other CLI tools
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = FAILED
    sys.exit(code)

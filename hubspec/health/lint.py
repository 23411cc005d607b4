"""Lint rules for health-check tuning (the design notes' guidelines, made checkable).

Interface shared by the CLI (`hubspec check`) and the CDK constructs:
errors fail synth, warnings become CDK warning annotations. A service may
acknowledge a warning by rule ID in `lint_acknowledge`, with a reason: the
finding stays listed (with the reason) but no longer counts. Errors cannot be
acknowledged; an acknowledgement that names an error, an unknown rule or a rule
that did not fire is itself reported, so acknowledgements cannot silently rot.

Timing rules use the simulator (`hubspec.health.timing`), never the notes' `S + I×R`.
"""

from __future__ import annotations

import ipaddress
import math
import re
import socket
from dataclasses import dataclass, replace
from typing import Final, Literal
from urllib.parse import urlsplit

from hubspec.health.healthstate import PROFILES
from hubspec.health.timing import Span, chained_timings, task_worst_detection
from hubspec.model import Catalog, ServiceSpec
from hubspec.shellcmd import curl_calls, read_shell_line
from hubspec.yamlsource import format_path

Severity = Literal["error", "warning"]
ERROR: Final = "error"
WARNING: Final = "warning"

# The notes' targets (docs/design.md). The ECS ranges are not lint's: the loader and HealthCheckSpec refuse
# values outside them (hubspec.schema).
RETRY_WINDOW = (60, 120)
DETECTION = (60, 180)
MIN_RETRIES = 5
EFS_MIN_TIMEOUT = 5
START_PERIOD_FACTOR = 1.5


@dataclass(frozen=True, order=True)
class Finding:
    file: str
    line: int
    path: str
    rule: str
    severity: Severity
    message: str
    hint: str = ""
    acknowledged: str | None = None  # the service's reason, when it accepts this warning
    service: str = ""
    measured: str = ""  # the numbers an acknowledgement must quote in `accepts` ("222–240 s")

    @property
    def label(self) -> str:
        """ "error", "warning", or "acknowledged" (a warning the service accepts: it does not count)."""
        return "acknowledged" if self.severity == WARNING and self.acknowledged else self.severity

    def __str__(self) -> str:
        text = f"{self.file}:{self.line}: {self.path}: {self.label} {self.rule}: {self.message}"
        if self.hint:
            text += f" (fix: {self.hint})"
        if self.acknowledged:
            text += f" [acknowledged: {self.acknowledged}]"
        return text

    @property
    def counts(self) -> bool:
        """Errors always count; a warning counts unless the service acknowledged it."""
        return self.severity == ERROR or not self.acknowledged


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    title: str


RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        Rule("HC002", WARNING, "timeout equal to interval (the notes ask for timeout < interval)"),
        Rule("HC003", WARNING, f"timeout below {EFS_MIN_TIMEOUT} s on an EFS-backed service"),
        Rule("HC004", WARNING, f"fewer than {MIN_RETRIES} retries"),
        Rule("HC005", ERROR, f"start_period below {START_PERIOD_FACTOR} × the declared start-up time"),
        Rule("HC006", WARNING, f"retry window interval × retries outside {RETRY_WINDOW[0]}–{RETRY_WINDOW[1]} s"),
        Rule(
            "HC007",
            WARNING,
            f"simulated worst-case detection of the task (sidecars included) outside {DETECTION[0]}–{DETECTION[1]} s",
        ),
        Rule("HC009", WARNING, "custom command runs curl without a --max-time below the timeout"),
        Rule("HC010", ERROR, "probe port neither the service port nor health_check_port, or not this container"),
        Rule("HC100", ERROR, "lint_acknowledge names an unknown rule"),
        Rule("HC101", ERROR, "lint_acknowledge names an error (errors cannot be acknowledged)"),
        Rule("HC102", WARNING, "lint_acknowledge names a rule that does not fire for this service"),
    )
}


def _finding(
    spec: ServiceSpec, rule: str, path: tuple[str | int, ...], message: str, hint: str = "", measured: str = ""
) -> Finding:
    return Finding(
        measured=measured,
        file=spec.source.file,
        line=spec.source.line_of(*path),
        path=format_path(path),
        rule=rule,
        severity=RULES[rule].severity,
        message=message,
        hint=hint,
        service=spec.name,
    )


def _seconds(value: float) -> str:
    return f"{value:g} s"


def _timeout_rules(spec: ServiceSpec) -> list[Finding]:
    hc = spec.health_check
    where = ("health_check", "timeout")
    out = []
    if hc.timeout == hc.interval:
        out.append(
            _finding(
                spec,
                "HC002",
                where,
                f"timeout equals interval ({hc.interval} s); the notes ask for timeout < interval",
                f"lower timeout to {max(2, hc.interval - 5)} or raise interval",
                measured=_seconds(hc.timeout),
            )
        )
    if spec.efs_backed and hc.timeout < EFS_MIN_TIMEOUT:
        out.append(
            _finding(
                spec,
                "HC003",
                where,
                f"timeout {hc.timeout} s on an EFS-backed service; first reads from EFS can be slow",
                "use 10–30 s, as the notes advise for EFS-backed services",
                measured=_seconds(hc.timeout),
            )
        )
    return out


def _retries_rule(spec: ServiceSpec) -> list[Finding]:
    hc = spec.health_check
    if hc.retries >= MIN_RETRIES:
        return []
    return [
        _finding(
            spec,
            "HC004",
            ("health_check", "retries"),
            f"retries {hc.retries} is risky: {hc.retries} failed probes in a row mark the container "
            "UNHEALTHY, so a short hiccup replaces it",
            "use 5–8; 10 is the ECS maximum, so the notes' 'Many (10+)' is not possible",
            measured=f"{hc.retries} retries",
        )
    ]


def _start_period_rule(spec: ServiceSpec) -> list[Finding]:
    declared, label = (spec.startup_p95, "p95") if spec.startup_p95 is not None else (spec.startup_typical, "typical")
    if declared is None:
        return []
    needed = START_PERIOD_FACTOR * declared
    if spec.health_check.start_period >= needed:
        return []
    return [
        _finding(
            spec,
            "HC005",
            ("health_check", "start_period"),
            f"start_period {spec.health_check.start_period} s is below {START_PERIOD_FACTOR} × the declared "
            f"{label} start-up time ({_seconds(declared)}) = {_seconds(needed)}",
            f"raise start_period to {math.ceil(needed)} or more (or correct startup_seconds.{label})",
        )
    ]


def _retry_window_rule(spec: ServiceSpec) -> list[Finding]:
    hc = spec.health_check
    window = hc.interval * hc.retries
    low, high = RETRY_WINDOW
    if low <= window <= high:
        return []
    return [
        _finding(
            spec,
            "HC006",
            ("health_check", "retries"),
            f"retry window interval × retries = {hc.interval} × {hc.retries} = {window} s is outside the "
            f"notes' {low}–{high} s",
            _retry_window_hint(hc.interval, hc.retries, hc.timeout),
            measured=_seconds(window),
        )
    ]


def _retry_window_hint(interval: int, retries: int, timeout: int) -> str:
    """Suggest one change that lands in the window without breaking another rule."""
    low, high = RETRY_WINDOW
    options = []
    for r in range(MIN_RETRIES, 11):
        if low <= interval * r <= high:
            options.append(f"retries {r} ({interval * r} s)")
            break
    i = high // retries if interval * retries > high else -(-low // retries)
    if 5 <= i <= 300 and low <= i * retries <= high:
        extra = f" with timeout below {i}" if timeout >= i else ""
        options.append(f"interval {i}{extra} ({i * retries} s)")
    return " or ".join(options) if options else "change interval and retries together"


def _detection_rule(spec: ServiceSpec) -> list[Finding]:
    """The task's worst case: the server's own, or the chained one when it waits for sidecars (timing owns both)."""
    hc = spec.health_check
    by_profile = {p: task_worst_detection(spec, profile=p) for p in PROFILES}
    worst, scenario, profile = max(((v, s, p) for p, (v, s) in by_profile.items()), key=lambda c: c[0])
    low, high = DETECTION
    if low <= worst <= high:
        return []
    per_profile = ", ".join(f"{p} {_seconds(v)}" for p, (v, _) in by_profile.items())
    span = Span.of(v for v, _ in by_profile.values())
    chained = chained_timings(spec, profile=profile) is not None
    return [
        _finding(
            spec,
            "HC007",
            ("health_check",),
            f"simulated worst-case detection is {_seconds(worst)} ({scenario}, {profile} profile; "
            f"per profile: {per_profile}; Fargate: {span.low:g}–{span.high:g} s), outside the notes' "
            f"{low}–{high} s (their S + I×R = {hc.start_period + hc.interval * hc.retries} s is not a bound)"
            + ("; counted from the task's start, the sidecars' checks included" if chained else ""),
            "lower retries or timeout (a hanging probe costs interval + its give-up time per retry)"
            + (", here or in the sidecars it waits for," if chained else ",")
            + " or acknowledge HC007 with the reason"
            if worst > high
            else "raise retries or interval so a hiccup does not replace the container",
            measured=_seconds(span.low) if span.low == span.high else f"{span.low:g}–{span.high:g} s",
        )
    ]


_AUTHORITY = re.compile(r"(?i)^(https?)://([^/?#$]*)(.?)")


def _target(url: str) -> tuple[str, int] | None:
    """(host, port) a URL in a shell line connects to, or None when a variable decides it.

    A URL without a scheme is what curl does with it: http. No port means 80 or 443.
    """
    if "://" not in url:
        url = "http://" + url
    m = _AUTHORITY.match(url)
    if m is None:
        return None
    scheme, authority, after = m[1].lower(), m[2], m[3]
    try:  # urlsplit itself refuses some authorities (`[x`), .port others (`:99999`)
        parts = urlsplit(f"{scheme}://{authority}")
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not host or (after == "$" and port is None):  # http://$HOST/ or http://127.0.0.1:${PORT}/
        return None
    return host, port if port is not None else (443 if scheme == "https" else 80)


def is_this_container(host: str) -> bool:
    """A host the probe reaches inside the task: loopback (127.0.0.0/8, ::1), 0.0.0.0/::, localhost.

    Also the spellings curl accepts for them: 127.1, 0, 2130706433, [::ffff:127.0.0.1], localhost.
    """
    name = host.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        try:
            ip = ipaddress.ip_address(socket.inet_aton(name))
        except OSError:
            return False  # a host name: another machine
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback or ip.is_unspecified


def probe_targets(command: str) -> list[tuple[str, int]]:
    """(host, port) of every URL the custom shell line names (curl's arguments, and URLs in any word)."""
    line = read_shell_line(command)
    targets = [_target(url) for url in line.urls]
    return list(dict.fromkeys(t for t in targets if t is not None))


def malformed_urls(command: str) -> list[str]:
    """URLs in the shell line whose host or port does not parse (`http://[x/`, `http://h:99999/`)."""
    out = []
    for url in read_shell_line(command).urls:
        m = _AUTHORITY.match(url if "://" in url else "http://" + url)
        if m is None or "$" in m[2]:
            continue  # no authority to judge, or a variable decides it
        try:
            parts = urlsplit(f"{m[1].lower()}://{m[2]}")
            _ = parts.port
        except ValueError:
            out.append(url)
    return out


def probe_ports(command: str) -> list[int]:
    """Ports on this container a custom shell line probes (`http://127.0.0.1:8071/...`, `localhost:3000`)."""
    return [port for host, port in probe_targets(command) if is_this_container(host)]


def _custom_command_rules(spec: ServiceSpec) -> list[Finding]:
    hc = spec.health_check
    command = hc.custom_health_command
    if not command:
        return []
    where = ("health_check", "custom_health_command")
    out = []
    for call in curl_calls(command) or []:
        cap = call.max_time
        if cap is None:
            out.append(
                _finding(
                    spec,
                    "HC009",
                    where,
                    f"runs curl without --max-time; a hung server is killed only by the "
                    f"{hc.timeout} s ECS timeout, without curl's own message",
                    f"add --max-time {max(1, hc.timeout - 1)}",
                    measured="no --max-time",
                )
            )
        elif cap >= hc.timeout:
            out.append(
                _finding(
                    spec,
                    "HC009",
                    where,
                    f"curl --max-time {cap:g} is not shorter than the health-check timeout {hc.timeout} s",
                    f"use --max-time {max(1, hc.timeout - 1)}",
                    measured=f"--max-time {cap:g}",
                )
            )
    allowed = {spec.port} | ({hc.health_check_port} if hc.health_check_port else set())
    for url in malformed_urls(command):
        out.append(
            _finding(
                spec,
                "HC010",
                where,
                f"probes {url!r}, which is not a URL curl can connect to (its host or port does not parse), "
                "so the check can never pass",
                "use http://127.0.0.1:<port>/...",
            )
        )
    for host, port in probe_targets(command):
        if not is_this_container(host):
            out.append(
                _finding(
                    spec,
                    "HC010",
                    where,
                    f"probes {host}:{port}, which is not this container; ECS runs the check inside the task, "
                    "so it should probe the task itself",
                    "use http://127.0.0.1:<port>/...",
                )
            )
    for port in dict.fromkeys(probe_ports(command)):
        if port not in allowed:
            named = (
                f"port {spec.port} or health_check_port {hc.health_check_port}"
                if hc.health_check_port
                else f"port {spec.port} and no health_check_port is set"
            )
            out.append(
                _finding(
                    spec,
                    "HC010",
                    where,
                    f"probes port {port}, but the service exposes {named}",
                    f"set health_check_port: {port} if that port is right, or fix the URL",
                )
            )
    return out


def same_numbers(accepts: str, measured: str) -> bool:
    """`accepts` quotes `measured`, whatever the dash, spacing or letter case ("222-240 s" = "222–240 s")."""

    def norm(text: str) -> str:
        return re.sub(r"\s+", "", text.replace("–", "-").replace("—", "-")).lower()

    return norm(accepts) == norm(measured)


def _acknowledge(spec: ServiceSpec, findings: list[Finding]) -> list[Finding]:
    """Mark acknowledged warnings; report acknowledgements that cannot apply or whose numbers changed."""
    by_rule: dict[str, list[Finding]] = {}
    for f in findings:
        by_rule.setdefault(f.rule, []).append(f)
    reasons: dict[Finding, str] = {}
    meta: list[Finding] = []
    for i, ack in enumerate(spec.acknowledged):
        where = ("lint_acknowledge", i, "rule")
        rule = RULES.get(ack.rule)
        if rule is None:
            meta.append(
                _finding(
                    spec,
                    "HC100",
                    where,
                    f"unknown rule {ack.rule!r}",
                    f"use one of {', '.join(r for r in RULES if RULES[r].severity == WARNING)}",
                )
            )
        elif rule.severity == ERROR:
            meta.append(
                _finding(
                    spec,
                    "HC101",
                    where,
                    f"{ack.rule} is an error ({rule.title}); errors cannot be acknowledged",
                    "fix the spec and remove this acknowledgement",
                )
            )
        elif ack.rule not in by_rule:
            meta.append(
                _finding(
                    spec,
                    "HC102",
                    where,
                    f"{ack.rule} ({rule.title}) does not fire for this service",
                    "remove this acknowledgement",
                )
            )
        else:
            matching = [f for f in by_rule[ack.rule] if same_numbers(ack.accepts, f.measured)]
            if not matching:
                now = " / ".join(dict.fromkeys(f.measured for f in by_rule[ack.rule]))
                meta.append(
                    _finding(
                        spec,
                        "HC102",
                        ("lint_acknowledge", i, "accepts"),
                        f"{ack.rule} now measures {now}, but this acknowledgement accepts {ack.accepts!r}; "
                        "the numbers changed since the reason was written",
                        f"check the reason still holds, then set accepts: {now!r} (or fix the spec)",
                    )
                )
            for f in matching:
                reasons.setdefault(f, ack.reason)
    marked = [replace(f, acknowledged=reasons[f]) if f.severity == WARNING and f in reasons else f for f in findings]
    return marked + meta


def lint_service(spec: ServiceSpec) -> list[Finding]:
    """Every finding for one service, acknowledgements applied, sorted."""
    findings = (
        _timeout_rules(spec)
        + _retries_rule(spec)
        + _start_period_rule(spec)
        + _retry_window_rule(spec)
        + _detection_rule(spec)
        + _custom_command_rules(spec)
    )
    return sorted(_acknowledge(spec, findings))


def lint_catalog(catalog: Catalog) -> list[Finding]:
    """Every finding for every service, sorted."""
    return sorted(f for spec in catalog.services for f in lint_service(spec))


def acknowledge_hint(finding: Finding) -> str:
    """How a service accepts this warning on purpose: the YAML, with the numbers it measures now."""
    accepts = f", accepts: {finding.measured!r}" if finding.measured else ""
    return (
        f"to accept it on purpose, add to {finding.file}: "
        f"lint_acknowledge: [{{rule: {finding.rule}, reason: <why>{accepts}}}]"
    )


def errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == ERROR]


def acknowledged(findings: list[Finding]) -> list[Finding]:
    """Warnings the service accepts (they do not count), labelled "acknowledged"."""
    return [f for f in findings if f.label == "acknowledged"]


def open_warnings(findings: list[Finding]) -> list[Finding]:
    """Warnings no acknowledgement covers."""
    return [f for f in findings if f.severity == WARNING and not f.acknowledged]


def summary(findings: list[Finding]) -> str:
    acked = len(acknowledged(findings))
    return f"{len(errors(findings))} error(s), {len(open_warnings(findings))} warning(s)" + (
        f", {acked} acknowledged" if acked else ""
    )


__all__ = [
    "ERROR",
    "RULES",
    "WARNING",
    "Finding",
    "Rule",
    "acknowledge_hint",
    "acknowledged",
    "errors",
    "is_this_container",
    "lint_catalog",
    "lint_service",
    "open_warnings",
    "probe_ports",
    "probe_targets",
    "same_numbers",
    "summary",
]

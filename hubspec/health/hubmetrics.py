"""Start-up samples from a hub's /hub/metrics: `hubspec tune SERVICE --from-metrics URL`.

The ECS spawner exports `ecsspawner_time_to_healthy_seconds` (a Prometheus
histogram, labels `service` and `size`; ecsspawner/metrics.py). A histogram keeps
counts per bucket, not the times themselves, so every observation becomes its
bucket's upper bound `le`: the median and P95 the tuner computes from them are
upper bounds of the true ones (never lower). The histogram also counts from
RunTask's answer, so the samples include provisioning and the image pull, which
the spawn records' HEALTHY - RUNNING leaves out (hubspec/health/observed.py).

Observations above the largest finite bound (the `+Inf` bucket) have no upper
bound; they are counted at the largest finite bound, and the tuner's notes say
how many. Fetching is plain urllib (GET, no redirects followed, a size cap and
a timeout); the text is parsed with prometheus_client's own parser.
"""

from __future__ import annotations

import http.client
import math
import socket
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

METRIC = "ecsspawner_time_to_healthy_seconds"
FETCH_TIMEOUT = 10.0  # seconds for the whole answer
MAX_BYTES = 16 * 1024 * 1024
MAX_OBSERVATIONS = 1_000_000  # as many as the spawn-records reader takes (about a million)
TOKEN_HELP = (
    "JupyterHub serves /hub/metrics only with a token unless c.JupyterHub.authenticate_prometheus = False; "
    "set JUPYTERHUB_API_TOKEN to a token with the read:metrics scope"
)


class MetricsError(Exception):
    """One readable line: the URL and what went wrong (exit 1)."""


class MetricsURLError(MetricsError):
    """The URL itself is not one to fetch (exit 2, a usage error)."""


@dataclass(frozen=True)
class HistogramSamples:
    """The observations of one service (one size, or all), each at its bucket's upper bound."""

    samples: tuple[float, ...]
    bounds: tuple[float, ...]  # the histogram's finite bucket bounds, ascending
    above_largest: int  # observations in the +Inf bucket, counted at bounds[-1]
    sizes: tuple[str, ...]  # the sizes whose series were summed

    def notes(self) -> list[str]:
        shown = ", ".join(f"{b:g}" for b in self.bounds)
        notes = [
            f"samples are bucket upper bounds of {METRIC} (buckets {shown} s): every start-up counts as its "
            "bucket's upper bound, so the median and P95 above are upper bounds too",
            "the histogram counts from RunTask's answer, so the samples include provisioning and the image pull "
            "(spawn records, --samples spawns.jsonl, give HEALTHY - RUNNING instead)",
        ]
        if self.above_largest:
            notes.append(
                f"{self.above_largest} observation(s) above the largest finite bucket {self.bounds[-1]:g} s are "
                f"counted as {self.bounds[-1]:g} s (for those, a lower bound)"
            )
        return notes


def check_url(url: str) -> None:
    """Refuse anything but an http(s) URL with a host (MetricsURLError)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a port that does not parse raises ValueError here
    except ValueError as exc:
        raise MetricsURLError(f"--from-metrics {url!r}: not a URL ({exc})") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise MetricsURLError(
            f"--from-metrics {url!r}: expected an http:// or https:// URL with a host, "
            "such as http://127.0.0.1:8081/hub/metrics"
        )
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        raise MetricsURLError(f"--from-metrics {url!r}: spaces and control characters are not allowed in the URL")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # the 3xx surfaces as an HTTPError with its Location


def fetch(url: str, *, token: str | None = None, timeout: float = FETCH_TIMEOUT) -> str:
    """GET url and return the body as text; every failure is one MetricsError line."""
    check_url(url)
    headers = {"Accept": "text/plain;version=0.0.4", "User-Agent": "hubspec"}
    if token:
        headers["Authorization"] = f"token {token}"
    request = urllib.request.Request(url, headers=headers)
    opener = urllib.request.build_opener(_NoRedirects)
    try:
        with opener.open(request, timeout=timeout) as response:
            status: int = response.status
            body: bytes = response.read(MAX_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise MetricsError(f"{url}: {_http_problem(exc)}") from None
    except urllib.error.URLError as exc:
        raise MetricsError(f"{url}: cannot connect: {_reason(exc.reason)}") from None
    except TimeoutError:
        raise MetricsError(f"{url}: no complete answer within {timeout:g} s") from None
    except (OSError, http.client.HTTPException) as exc:
        raise MetricsError(f"{url}: cannot read the answer: {_reason(exc)}") from None
    if status != 200:
        raise MetricsError(f"{url}: HTTP {status}; expected 200 with the Prometheus text format")
    if len(body) > MAX_BYTES:
        raise MetricsError(f"{url}: the answer is larger than {MAX_BYTES // (1024 * 1024)} MiB; not a metrics page")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MetricsError(f"{url}: the answer is not UTF-8 text (byte {exc.start})") from None


def _http_problem(exc: urllib.error.HTTPError) -> str:
    text = f"HTTP {exc.code} {exc.reason}; expected 200 with the Prometheus text format"
    if exc.code in (401, 403):
        text += f" ({TOKEN_HELP})"
    elif 300 <= exc.code < 400:
        text += f" (redirects are not followed; give the final URL: {exc.headers.get('Location', '?')})"
    return text


def _reason(reason: object) -> str:
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return "timed out"
    if isinstance(reason, socket.gaierror):
        return f"unknown host ({reason.strerror or reason})"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason) or type(reason).__name__


def _buckets(text: str, url: str) -> dict[tuple[str, str], dict[float, float]]:
    """{(service, size): {le: cumulative count}} of METRIC's buckets."""
    from prometheus_client.parser import text_string_to_metric_families

    series: dict[tuple[str, str], dict[float, float]] = {}
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name != f"{METRIC}_bucket":
                    continue
                labels = sample.labels
                try:
                    le = float(labels["le"])
                except (KeyError, ValueError):
                    raise MetricsError(f"{url}: {METRIC}_bucket has a series without a numeric 'le' label") from None
                key = (labels.get("service", ""), labels.get("size", ""))
                series.setdefault(key, {})[le] = sample.value
    except MetricsError:
        raise
    except Exception as exc:  # prometheus_client raises ValueError (and others) on text it cannot read
        raise MetricsError(f"{url}: not the Prometheus text format: {exc}") from None
    return series


def _per_bucket(cumulative: dict[float, float], url: str, which: str) -> list[tuple[float, int]]:
    """(upper bound, observations in that bucket), ascending; refuses counts a histogram cannot have."""
    out = []
    previous = 0.0
    for le in sorted(cumulative):
        count = cumulative[le]
        if not math.isfinite(count) or count < 0 or count != int(count):
            raise MetricsError(f"{url}: {METRIC}_bucket{{{which}, le={le:g}}}: count {count!r} is not a whole number")
        if count < previous:
            raise MetricsError(f"{url}: {METRIC}_bucket{{{which}}}: cumulative counts decrease at le={le:g}")
        out.append((le, int(count - previous)))
        previous = count
    if not out or out[-1][0] != math.inf:
        raise MetricsError(f'{url}: {METRIC}_bucket{{{which}}}: no le="+Inf" bucket; not a complete histogram')
    return out


def time_to_healthy_samples(text: str, *, url: str, service: str, size: str | None) -> HistogramSamples:
    """The bucket-bound samples of `service` (and `size`) from a metrics page; MetricsError if there are none."""
    series = _buckets(text, url)
    if not series:
        raise MetricsError(
            f"{url}: no {METRIC} histogram on this page; is it a hub running the ECS spawner "
            "(the metric appears after the first spawn that waited for HEALTHY)?"
        )
    chosen = {k: v for k, v in series.items() if k[0] == service and (size is None or k[1] == size)}
    if not chosen:
        present = ", ".join(f"{s} × {z}" for s, z in sorted(series)) or "none"
        which = f"{service} × {size}" if size else service
        raise MetricsError(f"{url}: {METRIC} has no series for {which}; series present: {present}")
    totals: dict[float, int] = {}
    for (svc, sz), cumulative in sorted(chosen.items()):
        for le, count in _per_bucket(cumulative, url, f'service="{svc}", size="{sz}"'):
            totals[le] = totals.get(le, 0) + count
    bounds = tuple(le for le in sorted(totals) if math.isfinite(le) and le > 0)
    total = sum(totals.values())
    which = f"{service} × {size}" if size else service
    if total == 0:
        raise MetricsError(f"{url}: {METRIC} counts no observations for {which}")
    if not bounds:
        raise MetricsError(f"{url}: {METRIC} has no finite bucket bound above 0 to take as a sample")
    if total > MAX_OBSERVATIONS:
        raise MetricsError(f"{url}: {total} observations for {which}; at most {MAX_OBSERVATIONS} are read")
    above = sum(count for le, count in totals.items() if not math.isfinite(le))
    samples = _expand((max(le, bounds[0]) if math.isfinite(le) else bounds[-1], n) for le, n in totals.items())
    return HistogramSamples(tuple(sorted(samples)), bounds, above, tuple(sorted({z for _, z in chosen})))


def _expand(counts: Iterable[tuple[float, int]]) -> list[float]:
    return [float(value) for value, n in counts for _ in range(n)]

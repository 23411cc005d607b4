"""`hubspec tune SERVICE --from-metrics URL`: the spawner's time-to-HEALTHY histogram, read over HTTP.

The pages are real output of the spawner's metric definitions (ecsspawner.metrics.define on a fresh
registry), served by a real HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from ecsspawner import metrics
from hubspec import cli
from hubspec.health.tune import StartupStats
from tests.catalogs import HUB_CATALOG_SERVICES, HUB_CATALOG_SIZES

# What the hub saw: (service, size, seconds from RunTask to HEALTHY).
OBSERVED = [("waiide", "small", v) for v in (12.0, 13.5, 14.0, 22.0, 29.0, 31.0, 44.0, 46.0)]
OBSERVED += [("waiide", "medium", 70.0), ("chat", "small", 8.0)]
TOKEN = "s3cret-token"


def spawner_page(observed=OBSERVED) -> bytes:
    registry = CollectorRegistry()
    m = metrics.define(registry)
    for service, size, seconds in observed:
        m.time_to_running.labels(service, size).observe(seconds / 2)
        m.time_to_healthy.labels(service, size).observe(seconds)
        m.spawns.labels(service, size, "ready").inc()
    return generate_latest(registry)


def counters_only_page() -> bytes:
    registry = CollectorRegistry()
    m = metrics.define(registry)
    m.poll_results.labels("running").inc()
    return generate_latest(registry)


PAGES: dict[str, tuple[int, dict[str, str], bytes]] = {
    "/hub/metrics": (200, {}, spawner_page()),
    "/plus-inf/hub/metrics": (200, {}, spawner_page([("waiide", "small", 30.0), ("waiide", "small", 900.0)])),
    "/no-spawner/hub/metrics": (200, {}, counters_only_page()),
    "/not-metrics": (200, {}, b"<html><body>JupyterHub</body></html>\n"),
    "/moved": (302, {"Location": "/hub/metrics"}, b""),
    "/broken": (500, {}, b"oops"),
}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/auth/hub/metrics":
            ok = self.headers.get("Authorization") == f"token {TOKEN}"
            status, headers, body = (200, {}, spawner_page()) if ok else (403, {}, b"forbidden")
        else:
            status, headers, body = PAGES.get(self.path, (404, {}, b"not found"))
        self.send_response(status)
        for key, value in {"Content-Type": "text/plain; version=0.0.4", **headers}.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def hub() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def tune(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(
        ["tune", *argv, "--services-dir", str(HUB_CATALOG_SERVICES), "--sizes-file", str(HUB_CATALOG_SIZES)]
    )
    out, err = capsys.readouterr()
    return code, out, err


def bucket_bound(seconds: float) -> float:
    """The upper bound of the spawner's bucket that holds `seconds` (the sample tune takes for it)."""
    return min(b for b in metrics.BUCKETS if b >= seconds)


def test_tune_reads_the_time_to_healthy_histogram_as_bucket_upper_bounds(hub, capsys):
    url = f"{hub}/hub/metrics"
    code, out, err = tune(capsys, "waiide", "--from-metrics", url, "--size", "small")
    assert code == 0, err
    bounds = [bucket_bound(s) for svc, size, s in OBSERVED if (svc, size) == ("waiide", "small")]
    stats = StartupStats.of(bounds)
    assert f"waiide: {len(bounds)} start-up samples from {url}: median {stats.median:g} s, P95 {stats.p95:g} s" in out
    assert "samples are bucket upper bounds" in out and "upper bounds too" in out
    assert "include provisioning and the image pull" in out
    assert "start_period" in out and f"ceil(P95 {stats.p95:g} s × 1.5)" in out

    # Without --size every size of the service counts; other services never do.
    code, out, _ = tune(capsys, "waiide", "--from-metrics", url)
    every_size = [bucket_bound(s) for svc, _, s in OBSERVED if svc == "waiide"]
    assert f"waiide: {len(every_size)} start-up samples" in out
    assert f"slowest {max(every_size):g} s" in out


def test_observations_above_the_largest_bucket_are_counted_at_it_and_said(hub, capsys):
    code, out, _ = tune(capsys, "waiide", "--from-metrics", f"{hub}/plus-inf/hub/metrics")
    largest = max(b for b in metrics.BUCKETS if b != float("inf"))
    assert f"slowest {largest:g} s" in out
    assert code == 1 and "clamped to the ECS maximum" in out  # P95 is the +Inf observation: too slow to tune
    assert f"1 observation(s) above the largest finite bucket {largest:g} s are counted as {largest:g} s" in out


def test_the_token_in_jupyterhub_api_token_is_sent(hub, capsys, monkeypatch):
    url = f"{hub}/auth/hub/metrics"
    monkeypatch.delenv("JUPYTERHUB_API_TOKEN", raising=False)
    code, _, err = tune(capsys, "waiide", "--from-metrics", url)
    assert code == 1
    assert err == (
        f"error: {url}: HTTP 403 Forbidden; expected 200 with the Prometheus text format (JupyterHub serves "
        "/hub/metrics only with a token unless c.JupyterHub.authenticate_prometheus = False; set "
        "JUPYTERHUB_API_TOKEN to a token with the read:metrics scope)\n"
    )
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", TOKEN)
    code, out, _ = tune(capsys, "waiide", "--from-metrics", url)
    assert code == 0 and "start-up samples from" in out


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/nowhere", "HTTP 404 Not Found; expected 200 with the Prometheus text format"),
        ("/broken", "HTTP 500 Internal Server Error; expected 200 with the Prometheus text format"),
        ("/moved", "HTTP 302 Found; expected 200 with the Prometheus text format (redirects are not followed"),
        ("/no-spawner/hub/metrics", "no ecsspawner_time_to_healthy_seconds histogram on this page"),
        ("/not-metrics", "not the Prometheus text format"),
    ],
)
def test_a_page_that_gives_no_samples_is_one_line_and_exit_1(hub, capsys, path, message):
    url = f"{hub}{path}"
    code, out, err = tune(capsys, "waiide", "--from-metrics", url)
    assert code == 1
    assert err.startswith(f"error: {url}: {message}")
    assert err.count("\n") == 1 and "Traceback" not in err
    assert out == ""


def test_a_service_or_size_without_series_names_the_series_present(hub, capsys):
    url = f"{hub}/hub/metrics"
    code, _, err = tune(capsys, "lab", "--from-metrics", url)
    assert code == 1
    present = sorted({(svc, size) for svc, size, _ in OBSERVED})
    listed = ", ".join(f"{svc} × {size}" for svc, size in present)
    assert err == f"error: {url}: ecsspawner_time_to_healthy_seconds has no series for lab; series present: {listed}\n"
    code, _, err = tune(capsys, "waiide", "--from-metrics", url, "--size", "large")
    assert code == 1 and "no series for waiide × large" in err


def test_connection_refused_is_one_line_and_exit_1(capsys):
    url = f"http://127.0.0.1:{closed_port()}/hub/metrics"
    code, _, err = tune(capsys, "waiide", "--from-metrics", url)
    assert (code, err) == (1, f"error: {url}: cannot connect: connection refused\n")


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1/hub/metrics", "file:///etc/passwd", "127.0.0.1:8081/hub/metrics", "http://", "http://h:x/"]
)
def test_a_url_that_is_not_http_is_a_usage_error(capsys, url):
    code, out, err = tune(capsys, "waiide", "--from-metrics", url)
    assert code == 2
    assert err.startswith(f"error: --from-metrics {url!r}: ") and err.count("\n") == 1
    assert out == ""


def test_samples_and_from_metrics_exclude_each_other(capsys, tmp_path):
    samples = tmp_path / "s.csv"
    samples.write_text("30\n", encoding="utf-8")
    code, _, err = tune(capsys, "waiide", "--samples", str(samples), "--from-metrics", "http://127.0.0.1:1/")
    assert code == 2 and "not allowed with argument" in err
    code, _, err = tune(capsys, "waiide", "--from-metrics", "http://127.0.0.1:1/", "--column", "2")
    assert code == 2 and "--column applies to CSV files" in err

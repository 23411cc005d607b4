"""Real local HTTP servers for the probe tests: 200, 404, 500, 302, hang, refuse, ready-later.

Each server runs in its own thread on 127.0.0.1 with an ephemeral port and
records the path of every request with the status it answered, so a test can
check both the probe's exit status and the URL the probe really asked for.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

HANG_LIMIT = 10.0  # a hanging handler gives up after this, so nothing outlives a test


@dataclass
class Seen:
    path: str
    status: int | None  # None: the server never answered (hang)
    at: float  # time.monotonic() of arrival


@dataclass
class ProbeServer:
    """A running test server. `answer(server, path)` returns a status, or None to hang."""

    answer: Callable[[ProbeServer, str], int | None]
    seen: list[Seen] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    released: threading.Event = field(default_factory=threading.Event)
    port: int = 0

    @property
    def paths(self) -> list[str]:
        return [s.path for s in self.seen]


def _handler(server: ProbeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_GET(self) -> None:
            status = server.answer(server, self.path)
            server.seen.append(Seen(self.path, status, time.monotonic()))
            if status is None:
                server.released.wait(HANG_LIMIT)
                return
            body = b'{"status": "ok"}' if status < 400 else b"error"
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", "/elsewhere")
            self.send_header("Content-Length", str(len(body)))
            # HTTP/1.0 closes after each answer; say so, or wget (which asks for keep-alive)
            # may reuse the closed connection to follow a redirect and fail with "No data received".
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

        do_HEAD = do_GET  # wget --spider and friends

        def log_message(self, *args) -> None:  # keep pytest output clean
            pass

    return Handler


Answer = Callable[[ProbeServer, str], "int | None"]


def _answer(mode: int | str | Answer) -> Answer:
    """An HTTP status answers every request (a 3xx redirects to /elsewhere, which answers 404);
    "hang" accepts and never answers; a callable decides per request (None hangs)."""
    if callable(mode):
        return mode
    if mode == "hang":
        return lambda server, path: None
    status = int(mode)
    return lambda server, path: 404 if 300 <= status < 400 and path == "/elsewhere" else status


@pytest.fixture(scope="module")
def serve() -> Iterator[Callable[[int | str | Answer], ProbeServer]]:
    """Start servers (`serve(200)`, `serve("hang")`, `serve(fn)`); all stop when the module ends."""
    running: list[tuple[ThreadingHTTPServer, ProbeServer]] = []

    def start(mode: int | str | Answer) -> ProbeServer:
        state = ProbeServer(_answer(mode))
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
        httpd.daemon_threads = True
        state.port = httpd.server_address[1]
        threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        running.append((httpd, state))
        return state

    yield start
    for _, state in running:
        state.released.set()
    stoppers = [threading.Thread(target=httpd.shutdown) for httpd, _ in running]  # each waits one poll
    for thread in stoppers:
        thread.start()
    for thread in stoppers:
        thread.join()
    for httpd, _ in running:
        httpd.server_close()


@pytest.fixture(scope="module")
def refused_port() -> Iterator[int]:
    """A port that refuses connections: bound (so nothing else takes it) but never listening."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


def _container_path() -> str:
    """PATH for probes: this interpreter's python3 first (a pyenv shim costs 0.1 s per start)."""
    return os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", os.defpath)])


@pytest.fixture(scope="session")
def probe_path() -> str:
    """PATH of the stand-in container: the machine's curl, wget and python3."""
    return _container_path()


@pytest.fixture
def require_tool(probe_path: str) -> Callable[[str], None]:
    """Skip visibly when a tool a probe kind needs is missing on this machine."""

    def require(name: str) -> None:
        if shutil.which(name, path=probe_path) is None:
            pytest.skip(
                f"SKIPPED FOR REAL: {name} is not installed on this machine (apt-get install -y "
                f"{name}); the probe kinds that run {name} were not exercised"
            )

    return require

"""How long one probe of each kind takes against a local server that answers at once.

That time is pure tool start-up, and it counts against the health-check
timeout: the rendered probe gives up after timeout - 1 s, so a slow start
(python3 importing urllib on a 0.25-vCPU task) eats the one-second margin.
Prints numbers; asserts nothing. Run: .venv/bin/python benchmarks/probe_overhead.py [N]
"""

from __future__ import annotations

import math
import os
import shutil
import statistics
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hubspec.health.liveprobe import probe_env, run_health_command
from hubspec.model import HealthCheckSpec, ServiceSpec
from hubspec.render import render_health_check

TOOLS = {"curl": "curl", "wget": "wget", "python": "python3", "tcp": "python3"}


class Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def main(rounds: int) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    # The interpreter the tests use first on PATH, then the machine's tools.
    path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", os.defpath)])
    env = probe_env("/user/alice/", path=path)
    print(f"{rounds} probes per kind against 127.0.0.1:{port} (HTTP 200 at once); seconds per probe")
    print(f"{'kind':<8} {'tool':<40} {'median':>8} {'p95':>8} {'max':>8}")
    for kind, tool in TOOLS.items():
        where = shutil.which(tool, path=path)
        if where is None:
            print(f"{kind:<8} {tool + ' not installed':<40}")
            continue
        hc = HealthCheckSpec(interval=15, timeout=10, retries=3, start_period=0, use_container_root=False, probe=kind)
        spec = ServiceSpec(name="b", image="b:1", health_check=hc, sizes=("small",), default_size="small", port=port)
        command = render_health_check(spec).command
        times = []
        for _ in range(rounds):
            run = run_health_command(command, env=env, timeout=10)
            assert run.ok, run
            times.append(run.duration)
        times.sort()
        p95 = times[math.ceil(0.95 * len(times)) - 1]  # nearest rank
        print(f"{kind:<8} {where:<40} {statistics.median(times):>8.3f} {p95:>8.3f} {times[-1]:>8.3f}")
    server.shutdown()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)

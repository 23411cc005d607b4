"""A pytest plugin that records every AWS call the spawner makes (`-p tests.aws_calls`).

It adds one botocore event hook, `provide-client-params.*.*`, to botocore's built-in handlers, so every
client made afterwards (moto's, Stubber's, the spawner's own) reports each call with the parameters the
caller passed. Only calls made by the spawner (on its boto3 worker threads, or with a frame inside
`ecsspawner/` on the stack) are kept: what
test fixtures do to set moto up is not the hub's business. Each process (xdist worker) appends JSON
lines to its own file in the folder named by HUB_AWS_CALL_LOG.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path
from typing import Any

import botocore.handlers

import ecsspawner
from ecsspawner import aws

LOG_ENV = "HUB_AWS_CALL_LOG"
_SPAWNER = str(Path(ecsspawner.__file__).resolve().parent) + os.sep


def _from_spawner() -> bool:
    """On one of the spawner's boto3 worker threads (ecsspawner.aws), or with spawner code on the stack."""
    if threading.current_thread().name.startswith(aws.THREAD_PREFIX):
        return True
    frame: Any = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_filename.startswith(_SPAWNER):
            return True
        frame = frame.f_back
    return False


def _record(params: dict, model: Any, **_: Any) -> None:
    folder = os.environ.get(LOG_ENV)
    if not folder or not _from_spawner():
        return
    line = {"service": model.service_model.endpoint_prefix, "operation": model.name, "params": params}
    with open(Path(folder) / f"calls-{os.getpid()}.jsonl", "a", encoding="utf-8") as out:
        out.write(json.dumps(line, default=str) + "\n")


botocore.handlers.BUILTIN_HANDLERS.append(("provide-client-params.*.*", _record))


def read_calls(folder: Path) -> list[dict]:
    """Every recorded call of every process, in file order."""
    return [json.loads(line) for path in sorted(folder.glob("calls-*.jsonl")) for line in path.read_text().splitlines()]

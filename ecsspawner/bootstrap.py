"""Single-use bootstrap codes: the server's hub API token never travels in RunTask's overrides.

RunTask's `containerOverrides` are readable by anyone with `ecs:DescribeTasks` on the
cluster (and land in CloudTrail and EventBridge). So `start()` leaves the server's token
(and every variable whose value is the token) out of them and sends
`ECSSPAWNER_BOOTSTRAP_CODE` instead: random, stored here only as a SHA-256 hash, bound to
one spawn, valid until that spawn's `start_timeout` runs out, and usable **once**. At
start-up the server's launcher (`bootstrap_client.py`, stdlib only, copied into the image)
posts the code to `<JUPYTERHUB_API_URL>/ecsspawner/bootstrap`; `BootstrapHandler` (add it
with `c.JupyterHub.extra_handlers = ecsspawner.bootstrap.handlers()`) answers the token and
forgets the code before answering. What DescribeTasks shows afterwards is a spent code:
it authenticates nowhere.

Codes live in the hub's process: a hub restarted while a server is starting forgets the
code, so that server cannot fetch its token and its spawn fails (JupyterHub fails such
spawns on restart anyway).
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tornado import web

CODE_ENV = "ECSSPAWNER_BOOTSTRAP_CODE"
PATH = r"/api/ecsspawner/bootstrap"  # under the hub's prefix: <JUPYTERHUB_API_URL>/ecsspawner/bootstrap
TOKEN_ENVS = ("JUPYTERHUB_API_TOKEN", "JPY_API_TOKEN")

log = logging.getLogger(__name__)


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


@dataclass
class _Grant:
    token: str
    spawn_id: str
    expires: float


@dataclass
class BootstrapCodes:
    """Hub-wide: hash of a code -> the token it may fetch once, for one spawn, until it expires."""

    clock: Callable[[], float] = time.monotonic
    _grants: dict[str, _Grant] = field(default_factory=dict)

    def issue(self, token: str, spawn_id: str, ttl: float) -> str:
        self.revoke(spawn_id)  # one live code per spawn
        code = secrets.token_urlsafe(32)
        self._grants[_digest(code)] = _Grant(token, spawn_id, self.clock() + ttl)
        return code

    def redeem(self, code: str) -> str | None:
        """The token, once; None for an unknown, spent or expired code."""
        grant = self._grants.pop(_digest(code), None)
        if grant is None or self.clock() > grant.expires:
            return None
        return grant.token

    def revoke(self, spawn_id: str) -> None:
        for key in [k for k, g in self._grants.items() if g.spawn_id == spawn_id]:
            del self._grants[key]

    def __len__(self) -> int:
        now = self.clock()
        return sum(1 for g in self._grants.values() if g.expires >= now)


CODES = BootstrapCodes()


def split_env(env: dict[str, str], token: str) -> dict[str, str]:
    """`env` without the token: without TOKEN_ENVS and without any variable whose value is the token."""
    return {k: v for k, v in env.items() if k not in TOKEN_ENVS and not (token and v == token)}


class BootstrapHandler(web.RequestHandler):
    """POST {"code": ...} -> 200 {"token": ...} once; 403 for anything else. No hub login: the code is the proof."""

    def initialize(self, codes: BootstrapCodes | None = None) -> None:
        self.codes = codes or CODES

    def check_xsrf_cookie(self) -> None:  # a server calling with a code, not a browser with a session
        return None

    def post(self) -> None:
        try:
            code = json.loads(self.request.body or b"{}").get("code", "")
        except (ValueError, AttributeError):
            code = ""
        token = self.codes.redeem(code) if isinstance(code, str) and code else None
        if token is None:
            log.warning(
                "ECSSpawner bootstrap: refused a code from %s (unknown, spent or expired)", self.request.remote_ip
            )
            raise web.HTTPError(403, "bootstrap code unknown, already used or expired")
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps({"token": token}))


def handlers(codes: BootstrapCodes | None = None) -> list[tuple[str, type, dict[str, Any]]]:
    """For `c.JupyterHub.extra_handlers`."""
    return [(PATH, BootstrapHandler, {"codes": codes or CODES})]

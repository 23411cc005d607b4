#!/usr/bin/env python3
"""Fetch the server's hub API token with its single-use bootstrap code, then run the server.

Standard library only, so it can be copied into any image that has python3:

    ENTRYPOINT ["python3", "/usr/local/bin/ecsspawner_bootstrap.py", "--"]
    CMD ["jupyterhub-singleuser"]

It posts $ECSSPAWNER_BOOTSTRAP_CODE to $JUPYTERHUB_API_URL/ecsspawner/bootstrap, sets
JUPYTERHUB_API_TOKEN and JPY_API_TOKEN in the environment of the command it then execs,
removes the code from that environment, and never prints or writes the token. Without a
code (a hub that sends the token itself) it execs the command unchanged.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request


def fetch_token(api_url: str, code: str, timeout: float = 30.0) -> str:
    request = urllib.request.Request(
        api_url.rstrip("/") + "/ecsspawner/bootstrap",
        data=json.dumps({"code": code}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as reply:  # the hub API URL the hub gave the server
        return str(json.loads(reply.read())["token"])


def main(argv: list[str]) -> int:
    command = argv[1:] if argv[:1] == ["--"] else argv
    if not command:
        print("usage: bootstrap_client.py -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    env = dict(os.environ)
    code = env.pop("ECSSPAWNER_BOOTSTRAP_CODE", "")
    if code:
        try:
            token = fetch_token(env["JUPYTERHUB_API_URL"], code)
        except Exception as exc:  # the token must not appear here: only the error's type and the URL
            print(f"bootstrap: cannot fetch the hub API token ({type(exc).__name__})", file=sys.stderr)
            return 1
        env["JUPYTERHUB_API_TOKEN"] = env["JPY_API_TOKEN"] = token
    os.execvpe(command[0], command, env)
    return 127  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Read the curl invocations in a custom health-check shell line.

`curl URL` exits 0 on HTTP 404/500, so a custom command that runs curl
without -f/--fail passes on a broken server; the loader rejects it and the
linter checks its --max-time.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

_OPERATORS = {"|", "||", "&", "&&", ";", ";;", "(", ")", "!", "{", "}"}
# curl short options that take an argument: the rest of a bundle after one is its value.
_SHORT_WITH_ARG = set("AbcCdDeEFhHKmoOPQrTuUwXxyYz")


@dataclass(frozen=True)
class CurlCall:
    args: tuple[str, ...]

    @property
    def fails_on_http_error(self) -> bool:
        for arg in self._flags():
            if arg in ("--fail", "--fail-with-body", "f"):
                return True
        return False

    @property
    def max_time(self) -> float | None:
        """Value of --max-time/-m, or None when the transfer has no cap."""
        args = list(self.args)
        for i, arg in enumerate(args):
            value = None
            if arg in ("--max-time", "-m") and i + 1 < len(args):
                value = args[i + 1]
            elif arg.startswith("--max-time="):
                value = arg.split("=", 1)[1]
            elif arg.startswith("-m") and not arg.startswith("--") and len(arg) > 2:
                value = arg[2:]
            if value is not None:
                try:
                    return float(value)
                except ValueError:
                    return None
        return None

    def _flags(self):
        """Long options whole, short options one letter at a time (bundles like -fsS)."""
        for arg in self.args:
            if arg.startswith("--"):
                yield arg.split("=", 1)[0]
            elif arg.startswith("-") and len(arg) > 1:
                for letter in arg[1:]:
                    yield letter
                    if letter in _SHORT_WITH_ARG:
                        break


def curl_calls(shell_line: str) -> list[CurlCall] | None:
    """Every `curl ...` command in the line, or None if the line cannot be tokenized."""
    try:
        lexer = shlex.shlex(shell_line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        tokens = list(lexer)
    except ValueError:
        return None
    calls: list[CurlCall] = []
    current: list[str] | None = None
    at_command_start = True
    for token in tokens:
        if token in _OPERATORS:
            if current is not None:
                calls.append(CurlCall(tuple(current)))
            current = None
            at_command_start = True
            continue
        if at_command_start:
            at_command_start = False
            if token.rsplit("/", 1)[-1] == "curl":
                current = []
                continue
        if current is not None:
            current.append(token)
    if current is not None:
        calls.append(CurlCall(tuple(current)))
    return calls

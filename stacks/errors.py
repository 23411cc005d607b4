"""Bad input for the app, reported as one line per problem and exit status 1."""

from __future__ import annotations

from collections.abc import Iterable


class InputErrors(Exception):
    """Every problem with the context or the input files; the app prints `lines` and stops."""

    def __init__(self, lines: Iterable[str]):
        self.lines = tuple(lines)
        super().__init__("\n".join(self.lines))

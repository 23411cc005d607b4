"""Spec errors reported the way check-jsonschema does: `file:line: path: message`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class SpecError:
    """One problem in one input file. Ordered by file, line, path for stable output."""

    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.path}: {self.message}"


# At most this many lines are printed; a 64 KiB file of unknown keys would otherwise print thousands.
MAX_SHOWN = 50


def shown(lines: list[str], limit: int = MAX_SHOWN) -> list[str]:
    """The first `limit` lines, then `… and N more` if there are more."""
    if len(lines) <= limit:
        return list(lines)
    return lines[:limit] + [f"… and {len(lines) - limit} more"]


class SpecErrors(Exception):
    """Every problem found in the inputs, sorted; raised only after all were collected."""

    def __init__(self, errors: list[SpecError]):
        self.errors = sorted(set(errors))
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        """The errors as printed: sorted, at most MAX_SHOWN of them, then how many more there are."""
        return shown([str(e) for e in self.errors])

"""Lint rules for health-check tuning (the design notes' guidelines, made checkable).

Interface shared by the CLI (`python -m hubspec check`) and the CDK constructs:
errors fail synth, warnings become CDK warning annotations. A service may
acknowledge a warning by rule ID in `lint_acknowledge`, with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from hubspec.model import Catalog

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Finding:
    file: str
    line: int
    path: str
    rule: str
    severity: Severity
    message: str
    hint: str = ""
    acknowledged: str | None = None  # the service's reason, when it accepts this warning
    service: str = ""

    def __str__(self) -> str:
        text = f"{self.file}:{self.line}: {self.path}: {self.severity} {self.rule}: {self.message}"
        if self.hint:
            text += f" (fix: {self.hint})"
        if self.acknowledged:
            text += f" [acknowledged: {self.acknowledged}]"
        return text


def lint_catalog(catalog: Catalog) -> list[Finding]:
    """Every finding for every service, sorted. (Rules: see issue 4; filled in by lint rules.)"""
    return []

"""One result model for `hubspec check`, and its reporters (text, JSON, GitHub workflow annotations).

Every problem `check` can find becomes a `Result` with `file:line: path:`: the loader's spec
errors (which stop everything else), the folder entries it ignored, and the lint findings.
Results are collected first, sorted, then handed to one reporter; the exit code follows one
policy for every format: 0 ok, 1 errors (or, with --strict, open warnings), 2 usage (cli).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Final

from hubspec.errors import SpecError, shown
from hubspec.health.lint import Finding

ERROR: Final = "error"
WARNING: Final = "warning"
ACKNOWLEDGED: Final = "acknowledged"
FORMATS: Final = ("text", "json", "github")

_FOLDER_WARNING = re.compile(r"^(?P<file>.*?):(?P<line>\d+): (?P<path>\S+): warning: (?P<message>.*)$")


@dataclass(frozen=True, order=True)
class Result:
    file: str
    line: int
    path: str
    severity: str  # error | warning | acknowledged
    rule: str  # HCnnn, "spec" (the loader refused the file) or "folder" (an ignored folder entry)
    message: str
    hint: str = ""
    reason: str = ""  # the acknowledgement's reason

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.path}: {self.message}"


def from_spec_error(error: SpecError) -> Result:
    return Result(error.file, error.line, error.path, ERROR, "spec", error.message)


def from_folder_warning(text: str) -> Result:
    m = _FOLDER_WARNING.match(text)
    if m is None:  # the loader writes these lines itself; keep anything else whole
        return Result("", 1, "$", WARNING, "folder", text)
    return Result(m["file"], int(m["line"]), m["path"], WARNING, "folder", m["message"])


def from_finding(finding: Finding) -> Result:
    return Result(
        finding.file,
        finding.line,
        finding.path,
        finding.label,
        finding.rule,
        finding.message,
        finding.hint,
        finding.acknowledged or "",
    )


@dataclass(frozen=True)
class CheckResult:
    results: tuple[Result, ...]
    services: tuple[str, ...] = ()
    spec_errors: bool = False  # the catalog did not load: only the loader's errors are known
    text_lines: tuple[str, ...] = ()  # the text reporter's lines, exactly as `check` always printed them

    def count(self, severity: str) -> int:
        return sum(1 for r in self.results if r.severity == severity)

    def exit_code(self, *, strict: bool) -> int:
        if self.count(ERROR):
            return 1
        return 1 if strict and self.count(WARNING) else 0

    def summary(self) -> str:
        if self.spec_errors:
            return f"{self.count(ERROR)} spec error(s)"
        acked = self.count(ACKNOWLEDGED)
        folder = sum(1 for r in self.results if r.rule == "folder")
        lint_warnings = self.count(WARNING) - folder
        text = f"{len(self.services)} service(s) ({', '.join(self.services)}): {self.count(ERROR)} error(s), "
        text += f"{lint_warnings} warning(s)" + (f", {acked} acknowledged" if acked else "")
        return text + (f"; {folder} folder entry(ies) ignored" if folder else "")


def build(
    *, findings: Sequence[Finding] = (), folder_warnings: Sequence[str] = (), services: Sequence[str] = ()
) -> CheckResult:
    lines = [*folder_warnings, *(str(f) for f in sorted(findings))]
    results = sorted([*map(from_folder_warning, folder_warnings), *map(from_finding, findings)])
    return CheckResult(tuple(results), tuple(services), text_lines=tuple(lines))


def from_spec_errors(errors: Sequence[SpecError]) -> CheckResult:
    results = tuple(sorted(from_spec_error(e) for e in errors))
    return CheckResult(results, spec_errors=True, text_lines=tuple(shown([str(e) for e in sorted(errors)])))


# ---- reporters ----------------------------------------------------------------------------------


def to_text(result: CheckResult) -> tuple[str, str]:
    """(stdout, stderr): findings on stdout, spec errors on stderr, as `check` always printed them."""
    body = "".join(line + "\n" for line in result.text_lines) + result.summary() + "\n"
    return ("", body) if result.spec_errors else (body, "")


def to_json(result: CheckResult, *, strict: bool) -> str:
    doc = {
        "services": list(result.services),
        "results": [asdict(r) for r in result.results],
        "summary": {
            "errors": result.count(ERROR),
            "warnings": result.count(WARNING),
            "acknowledged": result.count(ACKNOWLEDGED),
            "spec_errors": result.spec_errors,
            "text": result.summary(),
        },
        "exit_code": result.exit_code(strict=strict),
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


_COMMAND = {ERROR: "error", WARNING: "warning", ACKNOWLEDGED: "notice"}


def to_github(result: CheckResult) -> str:
    """GitHub Actions workflow commands: `::error file=F,line=L,title=HC005::path: message`."""
    out = []
    for r in result.results:
        props = [f"file={_escape_property(r.file)}", f"line={r.line}", f"title={_escape_property(r.rule)}"]
        message = f"{r.path}: {r.message}"
        if r.hint:
            message += f" (fix: {r.hint})"
        if r.reason:
            message += f" [acknowledged: {r.reason}]"
        out.append(f"::{_COMMAND[r.severity]} {','.join(props)}::{_escape_data(message)}")
    out.append(result.summary())
    return "".join(line + "\n" for line in out)

"""Lint findings (hubspec.health.lint) as CDK annotations on the construct they concern.

The app refuses to synthesize while an unacknowledged error exists; adding it
as an error annotation too means a stack built some other way still fails
synthesis. Warnings show up in `cdk synth` output with the YAML that accepts
them (`lint_acknowledge` with `rule`, `reason`, `accepts` in the service file).
They are plain warnings, not aws-cdk-lib's acknowledgeable ones: those end in
an "[ack: ...]" id and the CLI's "Acknowledge with ..." hint, which point at
CDK's in-code `Annotations.acknowledge_warning`, not at the YAML this project
reads. Acknowledged warnings are left out: the YAML records the reason and
`hubspec check` lists them.
"""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import Annotations
from constructs import IConstruct

from hubspec.health.lint import Finding, acknowledge_hint


def warning_text(finding: Finding) -> str:
    """The finding, then how to accept it in the service's YAML."""
    return f"{finding} — {acknowledge_hint(finding)}"


def open_findings(findings: Iterable[Finding]) -> list[Finding]:
    """The findings an annotation shows, in order: all but the warnings a service file accepts."""
    return sorted(f for f in findings if not f.acknowledged)


def annotate_findings(scope: IConstruct, findings: Iterable[Finding]) -> None:
    shown = open_findings(findings)
    if not shown:  # no jsii call for a service without findings (most of a large catalog)
        return
    annotations = Annotations.of(scope)
    for finding in shown:
        if finding.severity == "error":
            annotations.add_error(str(finding))
        else:
            annotations.add_warning(warning_text(finding))

"""Lint findings (hubspec.lint) as CDK annotations on the construct they concern.

The app refuses to synthesize while an unacknowledged error exists; adding it
as an error annotation too means a stack built some other way still fails
synthesis. Warnings show up in `cdk synth` output. Acknowledged warnings are
left out: the YAML records the reason, `hubspec check` lists them, and
as info annotations they would print in every synth with aws-cdk-lib's
"Acknowledge with ..." hint, which points at a different mechanism.
"""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import Annotations
from constructs import IConstruct

from hubspec.lint import Finding


def annotation_id(finding: Finding) -> str:
    """Stable per rule, so `Annotations.acknowledge_warning` can name it."""
    return f"hubspec:lint:{finding.rule}"


def annotate_findings(scope: IConstruct, findings: Iterable[Finding]) -> None:
    annotations = Annotations.of(scope)
    for finding in sorted(findings):
        if finding.acknowledged:
            continue
        if finding.severity == "error":
            annotations.add_error(str(finding))
        else:
            annotations.add_warning_v2(annotation_id(finding), str(finding))

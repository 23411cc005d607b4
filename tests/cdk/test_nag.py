"""cdk-nag's AwsSolutions pack on the bundled stack, checked during the session's one synth (conftest)."""

from __future__ import annotations

import pytest

from tests.cdk.conftest import nag_report

pytestmark = [pytest.mark.synth, pytest.mark.catalog]


def test_bundled_stack_has_no_open_awssolutions_finding(hub):
    """The session synth ran the pack (an open finding would have failed it); every acknowledgement
    left in the report names its reason."""
    reports = nag_report(next(iter(hub.template_files.values())).parent)
    nag = [r for r in reports if r["pluginName"] == "AwsSolutions"]
    assert len(nag) == 1
    # The stack's own warnings ride along in the same file (cdk.json: annotationsInValidationReport), under
    # another plugin name, e.g. hub:efs-no-mount-targets on this synth without network context.
    assert {r["pluginName"] for r in reports} <= {"AwsSolutions", "Construct Annotations"}
    assert all(r["conclusion"] == "success" for r in reports)
    for report in nag:
        assert report["violations"] == [], report["violations"]
        assert all(v["reason"] for v in report["suppressedViolations"])

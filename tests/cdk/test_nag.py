"""cdk-nag's AwsSolutions pack on the bundled stack, checked during the session's one synth (conftest)."""

from __future__ import annotations

import pytest

from tests.cdk.conftest import nag_report

pytestmark = [pytest.mark.synth, pytest.mark.catalog]


def test_bundled_stack_has_no_open_awssolutions_finding(hub):
    """The session synth ran the pack (an open finding would have failed it); every acknowledgement
    left in the report names its reason. Other reports are not this test's business: the catalog's
    lint warnings appear as CDK warning annotations ("Construct Annotations"), and lint owns them."""
    reports = nag_report(next(iter(hub.template_files.values())).parent)
    (report,) = [r for r in reports if r["pluginName"] == "AwsSolutions"]
    assert report["violations"] == [], report["violations"]
    assert all(v["reason"] for v in report["suppressedViolations"])

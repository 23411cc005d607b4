"""Load and check everything the stack is built from, before aws-cdk-lib is imported.

Spec errors, unknown services in the image overrides and unacknowledged lint
errors all stop the app with one line each; nothing is synthesized from bad input.
"""

from __future__ import annotations

from dataclasses import dataclass

from hubspec.errors import SpecErrors, shown
from hubspec.health.lint import Finding, lint_catalog
from hubspec.health.lint import errors as lint_errors
from hubspec.loader import load_catalog
from hubspec.model import Catalog
from stacks.context import IMAGES, HubSettings
from stacks.errors import InputErrors


@dataclass(frozen=True)
class HubInputs:
    catalog: Catalog
    findings: tuple[Finding, ...]


def load_inputs(settings: HubSettings) -> HubInputs:
    try:
        catalog = load_catalog(settings.services_dir, settings.sizes_file)
    except SpecErrors as err:
        raise InputErrors(err.lines()) from None
    known = [s.name for s in catalog.services]
    errors = [
        f"context: {IMAGES}.{name}: unknown service {name!r}; known: {', '.join(known)}"
        for name in settings.images
        if name not in known
    ]
    findings = tuple(sorted(lint_catalog(catalog)))
    errors += [str(f) for f in lint_errors(list(findings))]  # errors cannot be acknowledged
    if errors:
        raise InputErrors(shown(errors))
    return HubInputs(catalog=catalog, findings=findings)

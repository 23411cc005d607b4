"""User options (service + size): defaults, validation against the catalog, the form.

JupyterHub hands them to the spawner through `apply_user_options` (spawner.py),
which resolves them here before start().

The family name comes from `hubspec.naming.family_name`, the function the CDK
app names task definitions with, so the spawner launches exactly what was
synthesized.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from hubspec import Catalog, ServiceSpec, family_name


class OptionsError(ValueError):
    """A user's choice the catalog does not offer; the message is shown to the user."""


@dataclass(frozen=True)
class Choice:
    service: ServiceSpec
    size: str
    family: str


def _one(value: object) -> object:
    """Form data arrives as lists of strings; the API sends plain values."""
    if isinstance(value, list) and len(value) == 1:
        return value[0]
    return value


def resolve(catalog: Catalog, user_options: dict, *, prefix: str, default_service: str) -> Choice:
    """The service, size and family for `user_options`, or OptionsError saying what is offered."""
    service_name = _one(user_options.get("service")) or default_service
    names = [s.name for s in catalog.services]
    if not isinstance(service_name, str) or service_name not in names:
        raise OptionsError(f"unknown service {service_name!r}; choose one of: {', '.join(names)}")
    spec = catalog.service(service_name)
    size = _one(user_options.get("size")) or spec.default_size
    if not isinstance(size, str) or size not in spec.sizes:
        raise OptionsError(f"service {service_name!r} has no size {size!r}; choose one of: {', '.join(spec.sizes)}")
    return Choice(service=spec, size=size, family=family_name(prefix, service_name, size))


def options_form(catalog: Catalog, *, default_service: str) -> str:
    """One select of service + size pairs, grouped by service: only what each service offers, no JavaScript.

    Each option's value is `service/size`; the default service's default size is selected.
    """
    groups = []
    for spec in catalog.services:
        choices = []
        for name in spec.sizes:
            size = catalog.sizes[name]
            selected = " selected" if spec.name == default_service and name == spec.default_size else ""
            default = ", default" if name == spec.default_size else ""
            choices.append(
                f'<option value="{html.escape(spec.name)}/{html.escape(name)}"{selected}>'
                f"{html.escape(spec.name)}: {html.escape(name)} ({size.cpu / 1024:g} vCPU, "
                f"{size.memory / 1024:g} GiB{default})</option>"
            )
        label = html.escape(f"{spec.name}: {spec.description or spec.name}")
        groups.append(f'<optgroup label="{label}">{"".join(choices)}</optgroup>')
    return (
        '<label for="choice">Service and size</label>'
        f'<select class="form-control" name="choice" id="choice">{"".join(groups)}</select>'
    )


def options_from_form(form_data: dict) -> dict:
    """{"service": "lab", "size": "small"} from the form's `choice` ("lab/small"), or from service/size fields."""
    out = {}
    choice = _one(form_data.get("choice", [""]))
    if isinstance(choice, str) and choice:
        service, _, size = choice.partition("/")
        out["service"] = service
        if size:
            out["size"] = size
    for key in ("service", "size"):
        value = _one(form_data.get(key, [""]))
        if isinstance(value, str) and value:
            out[key] = value
    return out

"""Load and validate `services/*.yaml` and `sizes.yaml` into a Catalog.

Every error in every file is collected (schema errors via `iter_errors`, then
the cross-field checks a schema cannot express) and raised together as
SpecErrors, so one run shows the whole list and nothing is built from bad input.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any, TypeGuard

from hubspec._jsonschema import import_jsonschema

jsonschema = import_jsonschema()
from jsonschema.exceptions import ValidationError

from hubspec import fargate
from hubspec.commands import command_problems
from hubspec.errors import SpecError, SpecErrors
from hubspec.model import (
    DEFAULT_ENDPOINT,
    DEFAULT_PORT,
    Acknowledgement,
    Catalog,
    HealthCheckSpec,
    ServiceSpec,
    SizeSpec,
    Source,
)
from hubspec.schema import schema, timeout_above_interval
from hubspec.sharding import shard_errors
from hubspec.yamlsource import YamlDoc, display_name, file_problem, format_path, load_yaml

# Where a catalog's files are looked for, relative to the folder a command runs in (the `hubspec`
# command) or the CDK app's folder. Nothing defaults to the installed package's own files: a hub
# names its catalog explicitly (ECSSpawner.services_dir / HUBSPEC_SERVICES_DIR).
SERVICES_DIRNAME = "services"
SIZES_FILENAME = "sizes.yaml"


@cache
def ecma_pattern(pattern: str) -> re.Pattern[str]:
    """A schema `pattern` compiled with ECMA-262's meaning of a final `$`: the end of the string.

    Python's `$` also matches before a final newline, so `^[a-z]+$` would accept
    "chat\\n" (a family name with a newline in it). JSON Schema patterns are ECMA
    regular expressions, where `$` (without the m flag) is the end of the input:
    that is Python's `\\Z`.
    """
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


def _pattern(validator: Any, pattern: str, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not ecma_pattern(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


@cache
def _validator(name: str) -> Any:  # a jsonschema Validator (the module is imported through a guard)
    cls = jsonschema.validators.validator_for(schema(name))
    cls.check_schema(schema(name))
    # JSON Schema calls 512.0 an integer; YAML does not, and `int()` of it would hide the mistake.
    strict_integers = cls.TYPE_CHECKER.redefine("integer", lambda _checker, value: _is_int(value))
    cls = jsonschema.validators.extend(cls, validators={"pattern": _pattern}, type_checker=strict_integers)
    return cls(schema(name))


def image_problem(image: Any) -> str | None:
    """Why `image` is not an image reference the service schema accepts, or None.

    For image overrides that do not come from a service file (`-c images=...`): the
    schema's `image` rule is the only one, wherever the reference comes from.
    """
    doc = YamlDoc("image", image)
    subschema = schema("service")["properties"]["image"]
    for err in _validator("service").evolve(schema=subschema).iter_errors(image):
        return _explain(doc, err)[0].message
    return None


def _schema_errors(doc: YamlDoc, schema_name: str) -> list[SpecError]:
    errors: list[SpecError] = []
    for err in _validator(schema_name).iter_errors(doc.data):
        errors.extend(_explain(doc, err))
    return errors


def _explain(doc: YamlDoc, err: ValidationError) -> list[SpecError]:
    """Turn one jsonschema error into messages that say what is wrong and what is allowed."""
    path = tuple(err.absolute_path)
    if err.validator in ("oneOf", "anyOf") and err.context:
        err = jsonschema.exceptions.best_match(err.context)
        path = tuple(err.absolute_path)
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        allowed = sorted(err.schema.get("properties", {}))
        out = []
        for key in sorted(set(err.instance) - set(allowed)):
            guess = difflib.get_close_matches(key, allowed, n=1)
            hint = f"did you mean {guess[0]!r}? " if guess else ""
            msg = f"unknown key {key!r}; {hint}allowed keys: {', '.join(allowed)}"
            out.append(SpecError(doc.file, doc.line_of(path + (key,)), format_path(path + (key,)), msg))
        if out:
            return out
    if err.validator == "required":
        missing = err.message.split("'")[1] if "'" in err.message else err.message
        return [SpecError(doc.file, doc.line_of(path), format_path(path), f"missing required key {missing!r}")]
    if err.validator == "pattern" and "x-pattern-help" in err.schema:
        if "propertyNames" in err.relative_schema_path:  # the instance is the key itself
            path = path + (err.instance,)
        msg = f"{err.instance!r} is not allowed; expected {err.schema['x-pattern-help']}"
        return [SpecError(doc.file, doc.line_of(path), format_path(path), msg)]
    if err.validator == "type":
        expected = err.validator_value
        kind = _json_type(err.instance)
        if err.instance is None:
            msg = f"has no value (null); expected {_article(expected)}"
        elif isinstance(err.instance, (dict, list)):
            msg = f"is {kind}; expected {_article(expected)}"
        else:
            shown = str(err.instance).lower() if isinstance(err.instance, bool) else repr(err.instance)
            msg = f"{shown} is {kind}; expected {_article(expected)}"
        return [SpecError(doc.file, doc.line_of(path), format_path(path), msg)]
    return [SpecError(doc.file, doc.line_of(path), format_path(path), err.message)]


_JSON_KINDS = (
    (bool, "a boolean"),
    (int, "an integer"),
    (float, "a number"),
    (str, "a string"),
    (list, "a list"),
    (dict, "a mapping"),
)  # bool before int: True is an int


def _json_type(value: Any) -> str:
    for cls, name in _JSON_KINDS:
        if isinstance(value, cls):
            return name
    return "null" if value is None else type(value).__name__


def _article(expected: Any) -> str:
    names = {
        "object": "a mapping",
        "array": "a list",
        "integer": "an integer",
        "string": "a string",
        "number": "a number",
        "boolean": "a boolean (true or false)",
    }
    if isinstance(expected, list):
        return " or ".join(names.get(e, str(e)) for e in expected)
    return names.get(expected, str(expected))


def _load_sizes(sizes_file: Path) -> tuple[dict[str, SizeSpec] | None, list[SpecError]]:
    doc, errors = load_yaml(sizes_file)
    if doc is None:
        return None, errors
    errors = _schema_errors(doc, "sizes")
    entries = doc.data.get("sizes") if isinstance(doc.data, dict) else None
    sizes: dict[str, SizeSpec] = {}
    for name, entry in entries.items() if isinstance(entries, dict) else ():
        cpu = entry.get("cpu") if isinstance(entry, dict) else None
        memory = entry.get("memory") if isinstance(entry, dict) else None
        if not (_is_int(cpu) and _is_int(memory)):
            continue
        if fargate.allowed_memory(cpu) and memory not in fargate.allowed_memory(cpu):
            path = ("sizes", name, "memory")
            msg = f"{memory} MiB is not a Fargate memory size for cpu {cpu}; allowed: {fargate.describe_allowed(cpu)}"
            errors.append(SpecError(doc.file, doc.line_of(path), format_path(path), msg))
        sizes[name] = SizeSpec(name=name, cpu=cpu, memory=memory)
    return (None if errors else sizes), errors


def _cross_field_errors(doc: YamlDoc, sizes: dict[str, SizeSpec] | None, sizes_file: str) -> list[SpecError]:
    """Checks a JSON Schema cannot express. Guarded by type so they run beside schema errors."""
    data = doc.data if isinstance(doc.data, dict) else {}
    errors: list[SpecError] = []

    def add(path: tuple[str | int, ...], message: str) -> None:
        errors.append(SpecError(doc.file, doc.line_of(path), format_path(path), message))

    hc = data.get("health_check")
    if isinstance(hc, dict):
        interval, timeout = hc.get("interval"), hc.get("timeout")
        if _is_int(interval) and _is_int(timeout) and timeout > interval:
            add(("health_check", "timeout"), timeout_above_interval(timeout, interval))
        command = hc.get("custom_health_command")
        if isinstance(command, str) and command.strip():
            if "probe" in hc:
                add(("health_check", "probe"), "probe and custom_health_command are mutually exclusive; remove one")
            for problem in command_problems(command):
                add(("health_check", "custom_health_command"), problem)
    offered = data.get("sizes")
    if isinstance(offered, list):
        if sizes is not None:
            for i, size in enumerate(offered):
                if isinstance(size, str) and size not in sizes:
                    add(("sizes", i), f"size {size!r} is not defined in {sizes_file}; defined: {', '.join(sizes)}")
        default = data.get("default_size")
        if isinstance(default, str) and default not in offered:
            add(("default_size",), f"{default!r} is not one of this service's sizes: {', '.join(map(str, offered))}")
    return errors


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _build_service(doc: YamlDoc) -> ServiceSpec:
    data = doc.data
    hc = data["health_check"]
    startup = data.get("startup_seconds", {})
    return ServiceSpec(
        name=data["name"],
        image=data["image"],
        port=int(data.get("port", DEFAULT_PORT)),
        description=data.get("description", ""),
        sizes=tuple(data["sizes"]),
        default_size=data.get("default_size", data["sizes"][0]),
        efs_backed=data.get("efs_backed", False),
        startup_typical=startup.get("typical"),
        startup_p95=startup.get("p95"),
        acknowledged=tuple(
            Acknowledgement(a["rule"], a["reason"], a["accepts"]) for a in data.get("lint_acknowledge", [])
        ),
        health_check=HealthCheckSpec(
            interval=int(hc["interval"]),
            timeout=int(hc["timeout"]),
            retries=int(hc["retries"]),
            start_period=int(hc["start_period"]),
            endpoint=hc.get("endpoint", DEFAULT_ENDPOINT),
            health_check_port=int(hc["health_check_port"]) if "health_check_port" in hc else None,
            use_container_root=hc.get("use_container_root", True),
            prefer_ecs_health=hc.get("prefer_ecs_health", False),
            probe=hc.get("probe", "curl"),
            custom_health_command=hc.get("custom_health_command"),
        ),
        source=Source(doc.file, dict(doc.lines)),
    )


def catalog_errors(specs: list[ServiceSpec], services_dir: Path) -> list[SpecError]:
    """What the app cannot deploy although every file is valid: an overfull stack, names that collide.

    Task definition family `<prefix>-<service>-<size>` must be unique: `a-b` × size `c` and `a` ×
    size `b-c` share a family. The later file is blamed, naming the earlier one. How many task
    definitions a stack takes is `hubspec.sharding`'s rule.
    """
    errors = shard_errors(specs, services_dir)
    seen: dict[str, tuple[ServiceSpec, str, int]] = {}
    for spec in sorted(specs, key=lambda s: (s.source.file, s.name)):
        for i, size in enumerate(spec.sizes):
            line = spec.source.line_of("sizes", i)
            family = f"<prefix>-{spec.name}-{size}"
            if family in seen:
                other, other_size, other_line = seen[family]
                errors.append(
                    SpecError(
                        spec.source.file,
                        line,
                        format_path(("sizes", i)),
                        f"service {spec.name!r} with size {size!r} gives task definition family {family}, as "
                        f"service {other.name!r} with size {other_size!r} does ({other.source.file}:{other_line}); "
                        "rename one of them",
                    )
                )
            else:
                seen[family] = (spec, size, line)
    return errors


SERVICE_SUFFIXES = (".yaml", ".yml")  # in any letter case: X.YAML and x.Yml load too


def scan_services_dir(services_dir: Path) -> tuple[list[Path], list[SpecError], list[str]]:
    """Every entry of the services folder is loaded, refused or reported: (files, errors, warnings).

    A skipped file would mean the next deploy deletes that service's task definitions, so an
    entry named like a service file that is not a regular readable file (a dangling symlink,
    a loop, a directory, a FIFO) is an error, and any other entry is a warning.
    """
    files: list[Path] = []
    errors: list[SpecError] = []
    warnings: list[str] = []
    if not services_dir.is_dir():
        return files, errors, warnings
    for entry in sorted(services_dir.iterdir(), key=lambda p: p.name):
        name = display_name(entry)
        if entry.name.startswith(".") or entry.suffix.lower() not in SERVICE_SUFFIXES:
            kind = "directory" if entry.is_dir() else "hidden file" if entry.name.startswith(".") else "file"
            warnings.append(f"{name}:1: $: warning: {kind} is not a service file (*.yaml or *.yml); ignored")
            continue
        problem = file_problem(entry)
        if problem is not None:
            errors.append(SpecError(name, 1, "$", problem))
            continue
        files.append(entry)
    return files, errors, warnings


def service_files(services_dir: Path) -> list[Path]:
    """The service files of the folder (`*.yaml`, `*.yml`, any case) that are regular files."""
    return scan_services_dir(services_dir)[0]


def load_catalog(services_dir: Path | str, sizes_file: Path | str) -> Catalog:
    """Validate every file and build the Catalog, or raise SpecErrors listing every problem."""
    services_dir, sizes_file = Path(services_dir), Path(sizes_file)
    sizes, errors = _load_sizes(sizes_file)
    files, dir_errors, warnings = scan_services_dir(services_dir)
    errors += dir_errors
    if not services_dir.is_dir():
        problem = "is not a directory" if services_dir.exists() else "does not exist"
        errors.append(SpecError(display_name(services_dir), 1, "$", f"services directory {problem}"))
    elif not files and not dir_errors:
        errors.append(SpecError(display_name(services_dir), 1, "$", "no service files (*.yaml or *.yml) found"))
    specs: list[ServiceSpec] = []
    first_seen: dict[str, str] = {}
    sizes_name = display_name(sizes_file)
    for path in files:
        doc, file_errors = load_yaml(path)
        if doc is None:
            errors.extend(file_errors)
            continue
        file_errors = _schema_errors(doc, "service")
        file_errors += _cross_field_errors(doc, sizes, sizes_name)
        name = doc.data.get("name") if isinstance(doc.data, dict) else None
        if isinstance(name, str):
            where = f"{doc.file}:{doc.line_of(('name',))}"
            if name in first_seen:
                file_errors.append(
                    SpecError(
                        doc.file,
                        doc.line_of(("name",)),
                        "name",
                        f"service {name!r} is already defined at {first_seen[name]}; service names must be unique",
                    )
                )
            else:
                first_seen[name] = where
        errors.extend(file_errors)
        if not file_errors:
            specs.append(_build_service(doc))
    errors += catalog_errors(specs, services_dir)
    if errors:
        raise SpecErrors(errors)
    return Catalog(
        services=tuple(sorted(specs, key=lambda s: s.name)), sizes=dict(sizes or {}), warnings=tuple(warnings)
    )

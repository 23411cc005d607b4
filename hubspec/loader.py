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
from hubspec.errors import SpecError, SpecErrors
from hubspec.model import (
    DEFAULT_ENDPOINT,
    DEFAULT_PORT,
    Acknowledgement,
    Catalog,
    ContainerSpec,
    EfsSpec,
    HealthCheckSpec,
    ServiceSpec,
    SizeSpec,
    Source,
)
from hubspec.schema import schema, timeout_above_interval
from hubspec.sharding import shard_errors
from hubspec.shellcmd import command_problems
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
        misplaced = err.schema.get("x-misplaced", {})
        for key in sorted(set(err.instance) - set(allowed)):
            guess = difflib.get_close_matches(key, allowed, n=1)
            hint = f"did you mean {guess[0]!r}? " if guess else ""
            if key in misplaced:  # a key the schema knows elsewhere: say where it goes
                hint = f"{misplaced[key]}; "
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

    sidecars = data.get("sidecars")
    checks: list[tuple[tuple[str | int, ...], Any]] = [(("health_check",), data.get("health_check"))]
    if isinstance(sidecars, list):
        checks += [
            (("sidecars", i, "health_check"), s.get("health_check"))
            for i, s in enumerate(sidecars)
            if isinstance(s, dict)
        ]
    for where, hc in checks:
        if not isinstance(hc, dict):
            continue
        interval, timeout = hc.get("interval"), hc.get("timeout")
        if _is_int(interval) and _is_int(timeout) and timeout > interval:
            add((*where, "timeout"), timeout_above_interval(timeout, interval))
        command = hc.get("custom_health_command")
        if isinstance(command, str) and command.strip():
            if "probe" in hc:
                add((*where, "probe"), "probe and custom_health_command are mutually exclusive; remove one")
            for problem in command_problems(command):
                add((*where, "custom_health_command"), problem)
    errors += container_errors(doc)
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
        efs=_build_efs(data["efs"]) if "efs" in data else None,
        startup_typical=startup.get("typical"),
        startup_p95=startup.get("p95"),
        acknowledged=tuple(
            Acknowledgement(a["rule"], a["reason"], a["accepts"]) for a in data.get("lint_acknowledge", [])
        ),
        health_check=_build_health_check(hc),
        source=Source(doc.file, dict(doc.lines)),
        environment=dict(data.get("environment", {})),
        secrets=dict(data.get("secrets", {})),
        depends_on=dict(data.get("depends_on", {})),
        sidecars=tuple(_build_sidecar(s) for s in data.get("sidecars", [])),
        cpu_architecture=data.get("cpu_architecture"),
        ephemeral_storage_gib=data.get("ephemeral_storage_gib"),
        stop_timeout=data.get("stop_timeout"),
        exec_enabled=data.get("exec_enabled", False),
    )


def _build_efs(efs: dict[str, Any]) -> EfsSpec:
    return EfsSpec(
        mount_path=efs["mount_path"],
        per_user=efs["per_user"],
        uid=int(efs.get("uid", EfsSpec.uid)),
        gid=int(efs.get("gid", EfsSpec.gid)),
    )


def efs_owner_errors(specs: list[ServiceSpec]) -> list[SpecError]:
    """Every EFS home of a catalog runs as one uid/gid: a user's per-user directory is shared by all their
    services (one access point per user), and a directory created for one uid is not writable by another."""
    errors: list[SpecError] = []
    first: ServiceSpec | None = None
    for spec in sorted(specs, key=lambda s: (s.source.file, s.name)):
        if spec.efs is None:
            continue
        if first is None or first.efs is None:
            first = spec
            continue
        for key in ("uid", "gid"):
            mine, theirs = getattr(spec.efs, key), getattr(first.efs, key)
            if mine != theirs:
                errors.append(
                    SpecError(
                        spec.source.file,
                        spec.source.line_of("efs", key),
                        format_path(("efs", key)),
                        f"{key} {mine} differs from {theirs}, the {key} of service {first.name!r} "
                        f"({first.source.file}:{first.source.line_of('efs', key)}); every EFS home of a hub runs "
                        f"as one uid/gid, because a user's directory is shared by all of their services",
                    )
                )
    return errors


def _build_health_check(hc: dict[str, Any]) -> HealthCheckSpec:
    return HealthCheckSpec(
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
    )


def _build_sidecar(data: dict[str, Any]) -> ContainerSpec:
    return ContainerSpec(
        name=data["name"],
        image=data["image"],
        port=data.get("port"),
        essential=data.get("essential", False),
        health_check=_build_health_check(data["health_check"]) if "health_check" in data else None,
        environment=dict(data.get("environment", {})),
        secrets=dict(data.get("secrets", {})),
        depends_on=dict(data.get("depends_on", {})),
    )


# The spawner sets these in the main container (JUPYTERHUB_API_TOKEN, JUPYTERHUB_SERVICE_PREFIX, ...).
RESERVED_ENV_PREFIX = "JUPYTERHUB_"
SEQUENCED = ("COMPLETE", "SUCCESS")  # conditions that wait for the dependency to exit


def container_errors(doc: YamlDoc) -> list[SpecError]:
    """The task's containers taken together: names, ports, variables and `depends_on`.

    Guarded by type (they run beside schema errors). The main container is `name`, at the top
    level of the file; sidecars are `sidecars[i]`. What is refused, and why:
    a name used twice (ECS needs unique container names); a port two containers claim (they share
    127.0.0.1, so only one can listen); a `JUPYTERHUB_` variable (the spawner sets those); a variable
    that is both in environment and secrets; a dependency on an unknown container or on itself;
    HEALTHY on a container without a health check (the task would stay PENDING for ever); COMPLETE or
    SUCCESS on an essential container (its exit stops the task, so the dependent never starts); a cycle.
    """
    data = doc.data if isinstance(doc.data, dict) else {}
    errors: list[SpecError] = []

    def add(path: tuple[str | int, ...], message: str) -> None:
        errors.append(SpecError(doc.file, doc.line_of(path), format_path(path), message))

    # (path prefix, mapping) per container; the main container's keys are at the top level.
    containers: list[tuple[tuple[str | int, ...], dict[str, Any]]] = [((), data)]
    sidecars = data.get("sidecars")
    if isinstance(sidecars, list):
        containers += [(("sidecars", i), s) for i, s in enumerate(sidecars) if isinstance(s, dict)]

    def what(where: tuple[str | int, ...]) -> str:
        return "the main container" if not where else format_path(where)

    names: dict[str, tuple[str | int, ...]] = {}
    for where, c in containers:
        name = c.get("name")
        if not isinstance(name, str):
            continue
        if name in names:
            first = names[name]
            add(
                (*where, "name"),
                f"container name {name!r} is already used by {what(first)} (line {doc.line_of((*first, 'name'))}); "
                "container names must be unique in a task (the main container is named after the service)",
            )
        else:
            names[name] = where

    ports: dict[int, tuple[str | int, ...]] = {}
    for where, c in containers:
        hc = c.get("health_check")
        own = [((*where, "port"), c.get("port", DEFAULT_PORT if not where else None))]
        if isinstance(hc, dict):
            own.append(((*where, "health_check", "health_check_port"), hc.get("health_check_port")))
        mine: set[int] = set()
        for path, port in own:
            if not _is_int(port) or port in mine:
                continue
            mine.add(port)
            if port in ports:
                other = ports[port]
                add(
                    path,
                    f"port {port} is already used by container {_container_name(containers, other)!r} "
                    f"({format_path(other)}, line {doc.line_of(other)}); containers of a task share 127.0.0.1, "
                    "so each port belongs to one container",
                )
            else:
                ports[port] = path

    for where, c in containers:
        variables: dict[str, str] = {}
        for key in ("environment", "secrets"):
            mapping = c.get(key)
            for var in mapping if isinstance(mapping, dict) else ():
                if not isinstance(var, str):
                    continue
                if var.upper().startswith(RESERVED_ENV_PREFIX):
                    add(
                        (*where, key, var),
                        f"{var!r} is not allowed: names starting with {RESERVED_ENV_PREFIX} are set by the spawner; "
                        "choose another name",
                    )
                elif var in variables:
                    add((*where, key, var), f"{var!r} is also in {variables[var]}; a variable has one source")
                variables[var] = key
        if where:  # a sidecar's health check: rendered like the main one, but some keys mean nothing there
            hc = c.get("health_check")
            if isinstance(hc, dict):
                _sidecar_check_errors(where, c, hc, add)

    graph = _dependency_errors(containers, add)
    cycle = _find_cycle(graph)
    if cycle is not None:
        where = names.get(cycle[0], ())
        add(
            (*where, "depends_on", cycle[1]),
            f"dependency cycle {' -> '.join(cycle)}; ECS would start none of these containers",
        )
    return errors


def _container_name(containers: list[tuple[tuple[str | int, ...], dict[str, Any]]], path: tuple[str | int, ...]) -> str:
    for where, c in containers:
        if path[: len(where)] == where and (where or path[0] != "sidecars"):
            return str(c.get("name"))
    return "?"


def _sidecar_check_errors(where: tuple[str | int, ...], c: dict[str, Any], hc: dict[str, Any], add: Any) -> None:
    if hc.get("prefer_ecs_health"):
        add(
            (*where, "health_check", "prefer_ecs_health"),
            "prefer_ecs_health belongs to the main container's health_check (the spawner waits for the task's health, "
            "which every essential container's check decides); remove it here",
        )
    if hc.get("use_container_root") is False:
        add(
            (*where, "health_check", "use_container_root"),
            "false probes under JUPYTERHUB_SERVICE_PREFIX, which only the main container is given; "
            "use true (the default) in a sidecar",
        )
    if "custom_health_command" not in hc and not _is_int(hc.get("health_check_port")) and not _is_int(c.get("port")):
        add(
            (*where, "health_check"),
            "the probe needs a port: set the sidecar's port or health_check.health_check_port "
            "(or give a custom_health_command)",
        )


def _dependency_errors(
    containers: list[tuple[tuple[str | int, ...], dict[str, Any]]], add: Any
) -> dict[str, list[str]]:
    """Check each `depends_on` entry; return the graph of the entries that name a real container."""
    by_name = {c["name"]: (where, c) for where, c in containers if isinstance(c.get("name"), str)}
    graph: dict[str, list[str]] = {}
    for where, c in containers:
        deps, name = c.get("depends_on"), c.get("name")
        if not isinstance(deps, dict) or not isinstance(name, str):
            continue
        for dep, condition in deps.items():
            path = (*where, "depends_on", dep)
            if dep == name:
                add(path, f"container {name!r} cannot depend on itself")
                continue
            if dep not in by_name:
                others = sorted(n for n in by_name if n != name)
                guess = difflib.get_close_matches(dep, others, n=1)
                hint = f"did you mean {guess[0]!r}? " if guess else ""
                add(path, f"unknown container {dep!r}; {hint}containers of this task: {', '.join(others) or 'none'}")
                continue
            graph.setdefault(name, []).append(dep)
            dep_where, dep_c = by_name[dep]
            essential = not dep_where or dep_c.get("essential") is True
            if condition == "HEALTHY" and not isinstance(dep_c.get("health_check"), dict):
                add(
                    path,
                    f"HEALTHY needs a health check, and container {dep!r} has none (the task would stay PENDING); "
                    f"give {dep!r} a health_check, or use START, COMPLETE or SUCCESS",
                )
            elif condition in SEQUENCED and essential:
                add(
                    path,
                    f"{condition} waits for {dep!r} to exit, but {dep!r} is essential: its exit stops the task, so "
                    f"{name!r} would never start; use START or HEALTHY, or make {dep!r} essential: false",
                )
    return graph


def _find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """The first dependency cycle (a -> b -> a), starting at the first container in file order, or None."""
    done: set[str] = set()
    for start in graph:
        found = _cycle_from(start, graph, [], done)
        if found:
            return found
    return None


def _cycle_from(node: str, graph: dict[str, list[str]], stack: list[str], done: set[str]) -> list[str] | None:
    if node in stack:
        return [*stack[stack.index(node) :], node]
    if node in done:
        return None
    stack.append(node)
    for nxt in graph.get(node, []):
        found = _cycle_from(nxt, graph, stack, done)
        if found:
            return found
    stack.pop()
    done.add(node)
    return None


# CloudFormation allows 200 outputs per template and the stack has one per family, so this,
# not the 500-resource limit (4 + one resource per family), is what caps a stack.
MAX_FAMILIES = 200


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
    errors += efs_owner_errors(specs)
    if errors:
        raise SpecErrors(errors)
    return Catalog(
        services=tuple(sorted(specs, key=lambda s: s.name)), sizes=dict(sizes or {}), warnings=tuple(warnings)
    )

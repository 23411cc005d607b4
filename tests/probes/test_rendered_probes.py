"""Every rendered probe kind, run for real against a real local HTTP server.

Each (kind, spec variant, server mode) case renders the health check with
`render_health_check` on a spec loaded from YAML whose port is the test
server's, runs it the way the engine does (CMD-SHELL via /bin/sh -c, CMD as an
exec, only the container's environment, killed at the timeout) and checks the
exit status and the path the server saw. The hang cases cost about a second
each, so the whole matrix runs once per module on a thread pool.
"""

from __future__ import annotations

import dataclasses
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from hubspec import load_catalog, render_health_check
from hubspec.health.liveprobe import ProbeRun, probe_env, run_health_command
from hubspec.model import ServiceSpec
from tests.catalogs import FIXTURE_SIZES

KINDS = ("curl", "wget", "python", "tcp")
TOOL = {"curl": "curl", "wget": "wget", "python": "python3", "tcp": "python3"}
ENDPOINT = "/api/health"
TIMEOUT = 2  # the ECS minimum: the probe gives up after 1 s, ECS would kill it at 2 s
# Cases that answer (or refuse) get a roomier timeout, so a loaded CI machine cannot turn a slow
# process start into a false failure; only the hang cases need the short one to stay cheap.
ANSWER_TIMEOUT = 8

# variant: (use_container_root, JUPYTERHUB_SERVICE_PREFIX in the container, path the server must see)
VARIANTS = {
    "root": (True, "/user/alice/", ENDPOINT),  # the prefix is set but a root probe ignores it
    "prefix": (False, "/user/alice/", "/user/alice" + ENDPOINT),
    "named": (False, "/user/alice/named/", "/user/alice/named" + ENDPOINT),
    "escaped": (False, "/user/alice%40example.org/", "/user/alice%40example.org" + ENDPOINT),
    "unset": (False, None, ENDPOINT),  # no prefix in the environment: both forms fall back to /
}
MODES = ("200", "404", "500", "302", "refused", "hang")
FULL = ("root", "prefix", "named")  # every mode; the other variants only change the path: 200 and 404


def _cases() -> list[tuple[str, str, str]]:
    return [(k, v, m) for k in KINDS for v in VARIANTS for m in MODES if v in FULL or m in ("200", "404")]


def _yaml(kind: str, variant: str) -> str:
    root = "true" if VARIANTS[variant][0] else "false"
    return (
        f"name: {kind}-{variant}\nimage: example/{kind}:1\nsizes: [small]\n"
        f"health_check:\n  endpoint: {ENDPOINT}\n  use_container_root: {root}\n  probe: {kind}\n"
        f"  interval: 5\n  timeout: {TIMEOUT}\n  retries: 3\n  start_period: 0\n"
    )


@pytest.fixture(scope="module")
def specs(tmp_path_factory) -> dict[tuple[str, str], ServiceSpec]:
    """One spec per kind x variant, loaded through the real loader (schema and all)."""
    services = tmp_path_factory.mktemp("services")
    for kind in KINDS:
        for variant in VARIANTS:
            (services / f"{kind}-{variant}.yaml").write_text(_yaml(kind, variant))
    catalog = load_catalog(services, FIXTURE_SIZES)
    return {(k, v): catalog.service(f"{k}-{v}") for k in KINDS for v in VARIANTS}


@dataclass(frozen=True)
class Outcome:
    command: tuple[str, ...]
    run: ProbeRun
    paths: tuple[str, ...]  # what the server saw, in order


def _server_mode(mode: str) -> int | str:
    return mode if mode == "hang" else int(mode)


@pytest.fixture(scope="module")
def outcomes(specs, serve, refused_port, probe_path) -> dict[tuple[str, str, str], Outcome | None]:
    """Run every case once, concurrently; None where the kind's tool is missing (the test skips)."""
    cases = _cases()

    def run(case: tuple[str, str, str]) -> Outcome | None:
        kind, variant, mode = case
        if shutil.which(TOOL[kind], path=probe_path) is None:
            return None
        server = None if mode == "refused" else serve(_server_mode(mode))
        port = refused_port if server is None else server.port
        spec = dataclasses.replace(specs[kind, variant], port=port)
        if mode != "hang":
            hc = dataclasses.replace(spec.health_check, interval=10, timeout=ANSWER_TIMEOUT)
            spec = dataclasses.replace(spec, health_check=hc)
        check = render_health_check(spec)
        env = probe_env(VARIANTS[variant][1], path=probe_path)
        result = run_health_command(check.command, env=env, timeout=check.timeout)
        return Outcome(check.command, result, tuple(server.paths) if server else ())

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(cases, pool.map(run, cases), strict=True))


def _case_ids() -> list:
    return [pytest.param(k, v, m, id=f"{k}-{v}-{m}") for k, v, m in _cases()]


def _expected(kind: str, variant: str, mode: str) -> tuple[bool, tuple[str, ...]]:
    """(probe passes, paths the server sees) as the issue and docs/design.md say they must be."""
    path = VARIANTS[variant][2]
    if mode == "refused":
        return False, ()
    if kind == "tcp":  # a connect check: passes whenever the port accepts, sends no request
        return True, ()
    if mode == "200":
        return True, (path,)
    if mode == "302":
        # curl does not follow redirects without -L, and -f only fails on >= 400: a 302 passes.
        # wget and urllib follow it to /elsewhere, which answers 404: they fail.
        return (True, (path,)) if kind == "curl" else (False, (path, "/elsewhere"))
    return False, (path,)  # 404, 500, hang


@pytest.mark.parametrize(("kind", "variant", "mode"), _case_ids())
def test_probe_exit_status_and_path(kind, variant, mode, outcomes, require_tool):
    require_tool(TOOL[kind])
    outcome = outcomes[kind, variant, mode]
    passes, paths = _expected(kind, variant, mode)
    shown = f"{outcome.command} -> exit {outcome.run.describe()}: {outcome.run.output}"
    assert (outcome.run.exit_code == 0) is passes, shown
    assert outcome.paths == paths, shown


@pytest.mark.parametrize("kind", ["curl", "wget"])
def test_shell_probe_failures_exit_1(kind, outcomes, require_tool):
    """`|| exit 1` turns curl's 22/7/28 and wget's 8/4 into the 1 the ECS docs show."""
    require_tool(TOOL[kind])
    for mode in ("404", "500", "refused", "hang"):
        assert outcomes[kind, "prefix", mode].run.exit_code == 1, mode


def test_curl_probe_says_why_it_failed(outcomes, require_tool):
    """-sS: quiet progress but errors still go to stderr, which ECS keeps as the probe's output."""
    require_tool("curl")
    messages = {mode: outcomes["curl", "prefix", mode].run.output for mode in ("404", "500", "refused", "hang")}
    assert "404" in messages["404"] and "500" in messages["500"], messages
    assert "(7)" in messages["refused"] and "(28)" in messages["hang"], messages


def test_shell_and_exec_forms_match_their_documented_shapes(specs):
    """curl/wget run through a shell (they need ${VAR%/}); python/tcp are exec form, no shell needed."""
    forms = {kind: render_health_check(specs[kind, "prefix"]).command[0] for kind in KINDS}
    assert forms == {"curl": "CMD-SHELL", "wget": "CMD-SHELL", "python": "CMD", "tcp": "CMD"}
    assert render_health_check(specs["python", "prefix"]).command[1] == "python3"


EXAMPLE_PORT = 8888
EXAMPLE_HEALTH_PORT = 3000


def test_rendered_commands_snapshot(specs, snapshot):
    """The exact ECS healthCheck of every kind, at the container root and under the prefix."""
    rendered = {}
    for kind in KINDS:
        for variant in ("root", "prefix"):
            spec = dataclasses.replace(specs[kind, variant], port=EXAMPLE_PORT)
            spec = dataclasses.replace(
                spec,
                health_check=dataclasses.replace(
                    spec.health_check, health_check_port=EXAMPLE_HEALTH_PORT, timeout=10, interval=15
                ),
            )
            rendered[f"{kind}/{variant}"] = render_health_check(spec).to_ecs()
    assert rendered["curl/root"]["command"] == [
        "CMD-SHELL",
        "curl -fsS -o /dev/null --max-time 9 http://127.0.0.1:3000/api/health || exit 1",
    ]
    assert snapshot(extension_class=JSONSnapshotExtension) == rendered

"""What the spawner does when the hub starts, before any user is loaded.

JupyterHub has no start-up hook for spawner classes, and it builds spawner
objects only for users it loads: a hub restarted with no running servers builds
none. So the reaper, the loggers and the start-up checks cannot wait for the
first spawner. JupyterHub touches the spawner class twice while it starts: it
loads every installed `jupyterhub.spawners` entry point while the application
object is still being built (no event loop, not initialized yet), then resolves
`c.JupyterHub.spawner_class` while loading the config (initialized, loop running).
So `watch_hub()` runs on every resolution of the class — `ecsspawner.ECSSpawner`
is served by the package's module `__getattr__`, and every subclass calls it when
defined — and does nothing until it can act. Then it waits on the hub's event
loop until the application has its users and database, and `attach()` runs once:
- the `ecsspawner` loggers become children of the hub's logger (only the
  application's logger has a handler under JupyterHub), at the hub's level;
- the orphan reaper starts (`reaper_interval`);
- a warning names every prefer_ecs_health service whose simulated worst-case
  time to HEALTHY is longer than start_timeout;
- an error names the services with per-user EFS homes when no file system is set.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

PACKAGE_LOGGER = "ecsspawner"

_watching: set[asyncio.Task] = set()


def adopt_logs(hub_log: logging.Logger | None) -> None:
    """Send the `ecsspawner.*` loggers through the hub's logger, as JupyterHub does for tornado's."""
    if hub_log is None or not hub_log.handlers:
        return  # not a hub's application logger (tests, a bare Spawner): leave logging as it is
    ours = logging.getLogger(PACKAGE_LOGGER)
    if ours.parent is hub_log:
        return
    ours.parent = hub_log
    ours.propagate = True
    ours.setLevel(hub_log.level)


def timeout_warnings(spawner: Any) -> list[str]:
    """One line per offered prefer_ecs_health service whose check cannot pass within start_timeout."""
    from ecsspawner.healthtime import check_summary, worst_time_to_healthy

    lines = []
    for service in spawner.catalog.services:
        if not service.health_check.prefer_ecs_health:
            continue  # the spawner waits for HEALTHY only on these
        by = worst_time_to_healthy(service)
        if spawner.start_timeout < by.seconds:
            lines.append(
                f"start_timeout {spawner.start_timeout} s is shorter than service {service.name!r}'s simulated "
                f"worst-case time to HEALTHY, {by.seconds:.0f} s ({by.profile} profile; check "
                f"{check_summary(service)}; server answering from {by.ready_at:g} s): its spawns will time out "
                f"before a healthy server is seen; raise c.ECSSpawner.start_timeout"
            )
    return lines


def home_errors(spawner: Any) -> list[str]:
    """A line when services declare per-user EFS homes but the hub has no file system for them."""
    names = [s.name for s in spawner.catalog.services if s.efs is not None and s.efs.per_user]
    if not names or spawner.efs_file_system_id:
        return []
    return [
        f"service(s) {', '.join(repr(n) for n in names)} declare efs per_user: true but "
        "c.ECSSpawner.efs_file_system_id is not set: every spawn of them will fail; set it to the stack's "
        "output HomeFileSystemId (the example config reads EFS_FILE_SYSTEM_ID)"
    ]


def attach(app: Any) -> bool:
    """Loggers, reaper and start-up warnings for a JupyterHub application whose users and db exist."""
    from ecsspawner.spawner import ECSSpawner

    spawner_class = getattr(app, "spawner_class", None)
    if not (isinstance(spawner_class, type) and issubclass(spawner_class, ECSSpawner)):
        return False
    if getattr(app, "_ecsspawner_attached", False):
        return True
    app._ecsspawner_attached = True
    adopt_logs(app.log)
    probe = spawner_class(config=app.config, log=app.log)  # a spawner of no user: reads the hub's config only
    for line in timeout_warnings(probe):
        app.log.warning("ECSSpawner: %s", line)
    for line in home_errors(probe):
        app.log.error("ECSSpawner: %s", line)
    probe.start_reaper(users=app.tornado_settings["users"], db=app.db)
    if probe.token_bootstrap and not _serves_bootstrap(app):
        app.log.error(
            "ECSSpawner: token_bootstrap is on but the hub does not serve the bootstrap endpoint: servers "
            "cannot fetch their API token; add c.JupyterHub.extra_handlers = ecsspawner.bootstrap.handlers() "
            "(or set c.ECSSpawner.token_bootstrap = False, which puts tokens in RunTask's overrides)"
        )
    if probe.hub_id:
        from ecsspawner.install import install_id

        app.log.info("ECSSpawner: hub id %s, install id %s", probe.hub_id, install_id(app.db, probe.hub_id))
    return True


def watch_hub(poll: float = 0.2) -> asyncio.Task | None:
    """If a JupyterHub application is initializing on a running loop, attach to it once it is ready."""
    try:
        from jupyterhub.app import JupyterHub
    except ImportError:
        return None
    if not JupyterHub.initialized():
        return None  # the entry-point load while the application is built: the next resolution acts
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    app = JupyterHub.instance()
    if getattr(app, "_ecsspawner_watched", False):
        return None  # one watcher per hub, however often the class is resolved
    app._ecsspawner_watched = True

    async def wait_and_attach() -> None:
        while True:
            # init_tornado_settings puts the hub's UserDict here; reading app.users earlier would build another
            if getattr(app, "db", None) is not None and app.tornado_settings.get("users") is not None:
                try:
                    attach(app)
                except Exception:
                    app.log.exception("ECSSpawner: start-up (reaper, warnings) failed")
                return
            await asyncio.sleep(poll)

    task = loop.create_task(wait_and_attach(), name="ecsspawner-hub-start")
    _watching.add(task)
    task.add_done_callback(_watching.discard)
    return task


def _serves_bootstrap(app: Any) -> bool:
    from ecsspawner.bootstrap import BootstrapHandler

    return any(
        isinstance(h, (tuple, list)) and len(h) > 1 and isinstance(h[1], type) and issubclass(h[1], BootstrapHandler)
        for h in getattr(app, "extra_handlers", [])
    )

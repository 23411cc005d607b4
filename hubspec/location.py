"""Where the hub finds its catalog: named explicitly, never guessed.

An installed package has no `services/` folder of its own, and a hub must not
quietly read some other copy. The hub side (the spawner and the config
helpers) takes the two paths from its configuration or, when that leaves them
unset, from these environment variables; with neither it stops with a message
that says what to set.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

SERVICES_DIR_ENV = "HUBSPEC_SERVICES_DIR"
SIZES_FILE_ENV = "HUBSPEC_SIZES_FILE"


class CatalogLocationError(ValueError):
    """The catalog's location is not configured; the message says what to set."""


def catalog_location(
    services_dir: str | os.PathLike[str] | None,
    sizes_file: str | os.PathLike[str] | None,
    *,
    setting: str = "services_dir / sizes_file",
    environ: Mapping[str, str] | None = None,
) -> tuple[Path, Path]:
    """The configured paths, else the environment's; CatalogLocationError names what is missing.

    `setting` is how the caller's own configuration spells the two values
    (for example `c.ECSSpawner.services_dir`), so the message points at it.
    """
    env = os.environ if environ is None else environ
    services = str(services_dir or "") or env.get(SERVICES_DIR_ENV, "")
    sizes = str(sizes_file or "") or env.get(SIZES_FILE_ENV, "")
    missing = [
        f"{name} (or the environment variable {var})"
        for name, var, value in (
            ("services_dir", SERVICES_DIR_ENV, services),
            ("sizes_file", SIZES_FILE_ENV, sizes),
        )
        if not value
    ]
    if missing:
        raise CatalogLocationError(
            f"the service catalog's location is not set: {'; '.join(missing)}. "
            f"Set {setting} to the folder of service YAML files and the sizes YAML file the CDK app synthesized from"
        )
    return Path(services), Path(sizes)

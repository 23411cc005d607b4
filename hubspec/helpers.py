"""Hub-side config helpers: the notes' ChatConfigHelper / WAIIDEConfigHelper, read from YAML.

In the design notes these were hand-copied constants that drifted from the
service files; here every value comes from `services/<name>.yaml`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from hubspec.loader import load_catalog
from hubspec.location import catalog_location
from hubspec.model import Catalog, ServiceSpec


@lru_cache(maxsize=8)
def _catalog(services_dir: Path, sizes_file: Path) -> Catalog:
    return load_catalog(services_dir, sizes_file)


class ServiceConfigHelper:
    """Health-check settings of one service, in the dict shape the hub expects.

    The catalog is the one `services_dir` / `sizes_file` name (set them on a
    subclass), else the one the HUBSPEC_SERVICES_DIR / HUBSPEC_SIZES_FILE
    environment variables name; with neither, CatalogLocationError says so.
    """

    SERVICE: str = ""
    services_dir: Path | str | None = None
    sizes_file: Path | str | None = None

    @classmethod
    def spec(cls) -> ServiceSpec:
        services_dir, sizes_file = catalog_location(
            cls.services_dir, cls.sizes_file, setting=f"{cls.__name__}.services_dir / .sizes_file"
        )
        return _catalog(services_dir, sizes_file).service(cls.SERVICE)

    @classmethod
    def get_health_check_config(cls) -> dict[str, object]:
        hc = cls.spec().health_check
        config: dict[str, object] = {
            "endpoint": hc.endpoint,
            "timeout": hc.timeout,
            "interval": hc.interval,
            "retries": hc.retries,
            "use_container_root": hc.use_container_root,
            "start_period": hc.start_period,
            "prefer_ecs_health": hc.prefer_ecs_health,
        }
        if hc.health_check_port is not None:
            config["health_check_port"] = hc.health_check_port
        return config


class ChatConfigHelper(ServiceConfigHelper):
    SERVICE = "chat"


class WAIIDEConfigHelper(ServiceConfigHelper):
    SERVICE = "waiide"


class LabConfigHelper(ServiceConfigHelper):
    SERVICE = "lab"

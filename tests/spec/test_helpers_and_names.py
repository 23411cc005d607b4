"""Hub config helpers agree with the YAML; family names and Fargate sizes follow ECS rules."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hubspec import family_name, load_catalog
from hubspec.fargate import allowed_memory
from hubspec.helpers import ChatConfigHelper, LabConfigHelper, ServiceConfigHelper, WAIIDEConfigHelper
from hubspec.location import SERVICES_DIR_ENV, SIZES_FILE_ENV, CatalogLocationError
from hubspec.naming import check_prefix
from tests.catalogs import BUNDLED_SERVICES, BUNDLED_SIZES, HUB_CATALOG_SERVICES, HUB_CATALOG_SIZES


@pytest.fixture(autouse=True)
def _fixture_catalog(monkeypatch):
    """The helpers read the catalog the environment names (as a hub's would): here the fixture one."""
    monkeypatch.setenv(SERVICES_DIR_ENV, str(HUB_CATALOG_SERVICES))
    monkeypatch.setenv(SIZES_FILE_ENV, str(HUB_CATALOG_SIZES))


def test_chat_helper_matches_the_notes_shape_and_the_yaml():
    assert ChatConfigHelper.get_health_check_config() == {
        "endpoint": "/health",
        "timeout": 10,
        "interval": 15,
        "retries": 8,
        "use_container_root": True,
        "start_period": 45,
        "health_check_port": 3000,
        "prefer_ecs_health": True,
    }


def test_waiide_helper_matches_the_yaml():
    assert WAIIDEConfigHelper.get_health_check_config() == {
        "endpoint": "/health",
        "timeout": 10,
        "interval": 15,
        "retries": 8,
        "use_container_root": True,
        "start_period": 45,
        "health_check_port": 8071,
        "prefer_ecs_health": True,
    }


@pytest.mark.catalog
@pytest.mark.parametrize("service", [p.stem for p in sorted(BUNDLED_SERVICES.glob("*.yaml"))])
def test_helper_and_bundled_yaml_agree_field_by_field(service: str, monkeypatch):
    monkeypatch.setenv(SERVICES_DIR_ENV, str(BUNDLED_SERVICES))
    monkeypatch.setenv(SIZES_FILE_ENV, str(BUNDLED_SIZES))
    hc = load_catalog(BUNDLED_SERVICES, BUNDLED_SIZES).service(service).health_check
    helper = type("Helper", (ServiceConfigHelper,), {"SERVICE": service})
    config = helper.get_health_check_config()
    for key, value in config.items():
        assert getattr(hc, key) == value, key
    assert ("health_check_port" in config) == (hc.health_check_port is not None)


def test_helper_reads_another_services_dir(tmp_path):
    (tmp_path / "services").mkdir()
    (tmp_path / "services" / "chat.yaml").write_text(
        "name: chat\nimage: x\nsizes: [s]\nhealth_check: {interval: 20, timeout: 3, retries: 2, start_period: 0}\n"
    )
    (tmp_path / "sizes.yaml").write_text("sizes:\n  s: {cpu: 256, memory: 512}\n")

    class Custom(ChatConfigHelper):
        services_dir = tmp_path / "services"
        sizes_file = tmp_path / "sizes.yaml"

    assert Custom.get_health_check_config()["interval"] == 20
    assert ChatConfigHelper.get_health_check_config()["interval"] == 15


def test_helper_without_a_catalog_location_says_what_to_set(monkeypatch):
    monkeypatch.delenv(SERVICES_DIR_ENV)
    monkeypatch.delenv(SIZES_FILE_ENV)
    with pytest.raises(CatalogLocationError) as err:
        LabConfigHelper.get_health_check_config()
    assert str(err.value) == (
        "the service catalog's location is not set: services_dir (or the environment variable HUBSPEC_SERVICES_DIR); "
        "sizes_file (or the environment variable HUBSPEC_SIZES_FILE). Set LabConfigHelper.services_dir / .sizes_file "
        "to the folder of service YAML files and the sizes YAML file the CDK app synthesized from"
    )


def test_helpers_import_without_aws_cdk():
    code = (
        "import sys, hubspec.helpers, hubspec.loader, hubspec.render; "
        "assert not [m for m in sys.modules if m.startswith(('aws_cdk', 'jsii', 'constructs'))]"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_family_name_joins_prefix_service_size():
    assert family_name("calliope-hub-dev", "waiide", "medium") == "calliope-hub-dev-waiide-medium"


@pytest.mark.parametrize("prefix", ["a b", "hub.dev", "x" * 250, ""])
def test_family_name_rejects_what_ecs_rejects(prefix):
    with pytest.raises(ValueError, match="not a valid ECS name"):
        family_name(prefix, "chat", "small")
    assert check_prefix(prefix) is not None


def test_fargate_table():
    assert allowed_memory(256) == (512, 1024, 2048)
    assert allowed_memory(512) == (1024, 2048, 3072, 4096)
    assert allowed_memory(4096)[-1] == 30720
    assert allowed_memory(8192)[:2] == (16384, 20480)
    assert allowed_memory(16384)[-1] == 122880
    assert allowed_memory(300) == ()


@pytest.mark.catalog
def test_bundled_sizes_are_valid_fargate_pairs():
    for size in load_catalog(BUNDLED_SERVICES, BUNDLED_SIZES).sizes.values():
        assert size.memory in allowed_memory(size.cpu), size

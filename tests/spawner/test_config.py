"""Import isolation, configuration errors, the options form and the example jupyterhub_config.py."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from jupyterhub.app import JupyterHub
from jupyterhub.spawner import SpawnException
from traitlets import TraitError
from traitlets.config.loader import PyFileConfigLoader

from ecsspawner import ECSSpawner

ROOT = Path(__file__).resolve().parents[2]


def test_spawner_imports_without_aws_cdk():
    code = "import sys, ecsspawner; print('aws_cdk' in sys.modules, 'jsii' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


@pytest.mark.parametrize(
    "trait, value, message",
    [
        ("hub_id", "hub with spaces", "ECSSpawner.hub_id 'hub with spaces' must be 1-64 of letters"),
        ("prefix", "bad/prefix", "ECSSpawner.prefix 'bad/prefix' may hold only letters, digits, '_' and '-'"),
    ],
)
def test_bad_hub_id_or_prefix_is_refused_with_a_clear_message(trait, value, message):
    with pytest.raises(TraitError, match=message.replace("(", r"\(")):
        ECSSpawner(**{trait: value})


def test_missing_configuration_is_reported_before_anything_runs(hub):
    spawner = hub.spawner(hub.user("alice"), "")
    spawner.cluster = ""
    spawner.subnets = []
    with pytest.raises(SpawnException) as err:
        asyncio.run(spawner.start())
    assert err.value.log_message == "ECSSpawner needs c.ECSSpawner.cluster, c.ECSSpawner.subnets"


def test_example_config_loads_and_configures_the_spawner(monkeypatch):
    monkeypatch.setenv("ECS_CLUSTER", "example-cluster")
    monkeypatch.setenv("HUB_ID", "hub-eu-1")
    loader = PyFileConfigLoader("jupyterhub_config.py", path=str(ROOT / "examples"))
    config = loader.load_config()
    app = JupyterHub(config=config)
    assert app.spawner_class is ECSSpawner
    spawner = ECSSpawner(config=config)
    assert spawner.cluster == "example-cluster"
    assert spawner.prefix == "calliope-hub-dev" and spawner.hub_id == "hub-eu-1"
    assert spawner.reaper_dry_run is True and spawner.start_timeout == 600


def test_example_config_gives_the_spawner_the_home_file_system(monkeypatch):
    """The bundled lab has per-user EFS homes: a hub set up from the example must be able to spawn it."""
    monkeypatch.setenv("HUB_ID", "hub-eu-1")
    monkeypatch.setenv("EFS_FILE_SYSTEM_ID", "fs-0123456789abcdef0")
    config = PyFileConfigLoader("jupyterhub_config.py", path=str(ROOT / "examples")).load_config()
    assert ECSSpawner(config=config).efs_file_system_id == "fs-0123456789abcdef0"


def test_example_config_keeps_servers_across_a_hub_restart(monkeypatch):
    """Issue 8, defect 1: JupyterHub's default cleanup_servers=True stops every user's task on restart."""
    monkeypatch.setenv("HUB_ID", "hub-eu-1")
    config = PyFileConfigLoader("jupyterhub_config.py", path=str(ROOT / "examples")).load_config()
    assert JupyterHub().cleanup_servers is True  # the default the example must override
    assert JupyterHub(config=config).cleanup_servers is False


def test_example_config_without_hub_id_fails_clearly(monkeypatch):
    monkeypatch.delenv("HUB_ID", raising=False)
    with pytest.raises(SystemExit, match="set HUB_ID to a name unique to this hub"):
        PyFileConfigLoader("jupyterhub_config.py", path=str(ROOT / "examples")).load_config()


def test_spawners_with_the_default_client_share_one_reader():
    """Batching needs one reader per hub: the default boto3 factory must be the same object for all."""
    first = ECSSpawner(region="us-east-1", cluster="c", hub_id="h")
    second = ECSSpawner(region="us-east-1", cluster="c", hub_id="h")
    assert first.client_factory is second.client_factory
    assert first.reader is second.reader
    assert ECSSpawner(region="eu-west-1", cluster="c", hub_id="h").reader is not first.reader


def test_catalog_location_is_required_and_the_error_says_what_to_set(hub, monkeypatch):
    monkeypatch.delenv("HUBSPEC_SERVICES_DIR", raising=False)
    monkeypatch.delenv("HUBSPEC_SIZES_FILE", raising=False)
    spawner = hub.spawner(hub.user("alice"), "")
    spawner.services_dir = spawner.sizes_file = ""
    with pytest.raises(SpawnException) as err:
        asyncio.run(spawner.start())
    assert err.value.message == "This hub's service catalog is not available; ask an administrator."
    assert "services_dir (or the environment variable HUBSPEC_SERVICES_DIR)" in err.value.log_message
    assert "Set c.ECSSpawner.services_dir and c.ECSSpawner.sizes_file" in err.value.log_message


def test_catalog_location_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("HUBSPEC_SERVICES_DIR", str(tmp_path / "services"))
    monkeypatch.setenv("HUBSPEC_SIZES_FILE", str(tmp_path / "sizes.yaml"))
    spawner = ECSSpawner()
    assert (spawner.services_dir, spawner.sizes_file) == (str(tmp_path / "services"), str(tmp_path / "sizes.yaml"))


def test_a_catalog_that_does_not_load_is_reported_file_by_line(hub, tmp_path):
    (tmp_path / "services").mkdir()
    (tmp_path / "services" / "lab.yaml").write_text("name: lab\nimage: x\nsizes: [small]\nhealth_check: {}\n")
    (tmp_path / "sizes.yaml").write_text("sizes:\n  small: {cpu: 256, memory: 512}\n")
    spawner = hub.spawner(hub.user("alice"), "")
    spawner.services_dir, spawner.sizes_file = str(tmp_path / "services"), str(tmp_path / "sizes.yaml")
    with pytest.raises(SpawnException) as err:
        asyncio.run(spawner.start())
    assert "lab.yaml:4: health_check: missing required key 'interval'" in err.value.log_message

# The end-to-end test's hub: the project's example config, then only what a test hub on 127.0.0.1 needs.
import os

c = get_config()  # noqa: F821
load_subconfig(os.path.join(os.environ["E2E_REPO"], "examples", "jupyterhub_config.py"))  # noqa: F821

c.JupyterHub.spawner_class = "e2e_spawner.LoopbackECSSpawner"
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = int(os.environ["E2E_PUBLIC_PORT"])
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_connect_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(os.environ["E2E_HUB_PORT"])
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{os.environ['E2E_PROXY_API_PORT']}"
c.ConfigurableHTTPProxy.command = [os.environ["E2E_CHP"]]
c.JupyterHub.db_url = f"sqlite:///{os.environ['E2E_STATE']}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = os.path.join(os.environ["E2E_STATE"], "cookie_secret")
c.JupyterHub.pid_file = os.path.join(os.environ["E2E_STATE"], "jupyterhub.pid")
c.JupyterHub.tornado_settings = {"slow_spawn_timeout": 0}  # the API answers 202 at once; the test reads progress

c.JupyterHub.authenticator_class = "dummy"  # any user name and password: the test logs in through the form
c.Authenticator.allow_all = True
c.JupyterHub.services = [{"name": "e2e", "api_token": os.environ["E2E_TOKEN"]}]
c.JupyterHub.load_roles = [
    {"name": "e2e", "scopes": ["admin:users", "admin:servers", "read:metrics"], "services": ["e2e"]},
]

c.ECSSpawner.services_dir = os.path.join(os.environ["E2E_CATALOG"], "services")  # the fixture catalog
c.ECSSpawner.sizes_file = os.path.join(os.environ["E2E_CATALOG"], "sizes.yaml")
c.ECSSpawner.start_timeout = int(os.environ.get("E2E_START_TIMEOUT", "8"))
c.ECSSpawner.start_deadline_margin = 2
c.ECSSpawner.http_timeout = 10
c.ECSSpawner.poll_interval = 1
c.ECSSpawner.start_poll_interval = 0.2
c.ECSSpawner.describe_cache_ttl = 0.3
c.ECSSpawner.retry_backoff = 0.05
c.ECSSpawner.reaper_interval = 1
c.ECSSpawner.reaper_margin = 1

# JupyterHub config for the ECS Fargate spawner (ecsspawner.ECSSpawner).
#
# The spawner launches the task definitions the CDK app synthesizes:
# `<prefix>-<service>-<size>`, e.g. calliope-hub-dev-lab-medium. Services and
# sizes come from services/*.yaml and sizes.yaml; users pick them on the spawn
# form, or via the REST API:
#   POST /hub/api/users/alice/servers/work  {"service": "waiide", "size": "small"}
#
# Values below are placeholders: read them from your stack outputs. This file
# is Python; JupyterHub passes it `c`. Environment variables are read here only.
import os

from ecsspawner import bootstrap as ecs_bootstrap

c = get_config()  # noqa: F821  (provided by JupyterHub when it loads this file)

c.JupyterHub.spawner_class = "ecs"  # the entry point of `pip install hub-ecs-healthchecks[hub]`
# Servers get a single-use bootstrap code, not their API token, in RunTask's overrides (which
# ecs:DescribeTasks shows); they exchange it once at this endpoint with the launcher
# ecsspawner/bootstrap_client.py, which every server image needs as its entry point.
c.JupyterHub.extra_handlers = ecs_bootstrap.handlers()
# Keep users' tasks running across a hub restart. JupyterHub's default (True) stops
# every server when the hub shuts down: one StopTask per user on every upgrade or
# restart. With False the restarted hub reads each task ARN from its database and
# polls it; the orphan reaper covers tasks whose server the hub no longer knows.
c.JupyterHub.cleanup_servers = False
c.JupyterHub.allow_named_servers = True
c.JupyterHub.named_server_limit_per_user = 5
# Tasks must reach the hub's API: listen on all interfaces, advertise a reachable address.
c.JupyterHub.hub_ip = "0.0.0.0"
c.JupyterHub.hub_connect_ip = os.environ.get("HUB_CONNECT_IP", "hub.internal.example")

# Where tasks run (from the stack / VPC).
c.ECSSpawner.cluster = os.environ.get("ECS_CLUSTER", "calliope-hub-dev")
c.ECSSpawner.subnets = os.environ.get("TASK_SUBNETS", "subnet-0123456789abcdef0").split(",")
c.ECSSpawner.security_groups = os.environ.get("TASK_SECURITY_GROUPS", "sg-0123456789abcdef0").split(",")
c.ECSSpawner.assign_public_ip = False  # private subnets with a NAT / VPC endpoints
c.ECSSpawner.region = os.environ.get("AWS_REGION", "us-east-1")

# Naming: the same prefix as the CDK app's context (`cdk.json` / `cdk synth -c prefix=...`).
c.ECSSpawner.prefix = os.environ.get("FAMILY_PREFIX", "calliope-hub-dev")
# Unique per hub: every task is tagged with it; the orphan reaper only ever touches tasks carrying it.
# No default on purpose: two hubs sharing an id would reap each other's servers.
if not os.environ.get("HUB_ID"):
    raise SystemExit(
        "examples/jupyterhub_config.py: set HUB_ID to a name unique to this hub (1-64 of letters, digits and "
        "_ . : / = + @ -); every task is tagged with it and the orphan reaper only touches tasks carrying it"
    )
c.ECSSpawner.hub_id = os.environ["HUB_ID"]

# The catalog the form offers: the same services/ and sizes.yaml the CDK app synthesized from,
# copied into the hub image. Required; by default read from HUBSPEC_SERVICES_DIR / HUBSPEC_SIZES_FILE.
# c.ECSSpawner.services_dir = "/srv/hub/services"
# c.ECSSpawner.sizes_file = "/srv/hub/sizes.yaml"
c.ECSSpawner.default_service = "lab"  # used when user_options name no service

# Per-user EFS homes (services with `efs: {per_user: true}`, such as the bundled lab): the file system
# is the stack's output HomeFileSystemId (docs/efs.md). Unset, the hub logs an error at start-up and
# every spawn of such a service fails with "home directories are not configured".
c.ECSSpawner.efs_file_system_id = os.environ.get("EFS_FILE_SYSTEM_ID", "")

# Timing. start_timeout covers RunTask + image pull + (for prefer_ecs_health services) HEALTHY.
# At start-up the hub log warns when it is shorter than a prefer_ecs_health service's simulated
# worst-case time to HEALTHY; start() gives up start_deadline_margin seconds early with a message
# that says what it was still waiting for.
c.ECSSpawner.start_timeout = 600
c.ECSSpawner.http_timeout = 120
c.ECSSpawner.poll_interval = 30
c.ECSSpawner.describe_cache_ttl = 5  # one DescribeTasks per 100 servers per refresh
c.ECSSpawner.missing_grace = 60

# Orphan reaper: one sweep loop per hub. Start with a dry run and read the logs
# ("orphan reaper: would-stop ...") and ecsspawner_reaper_decisions_total.
c.ECSSpawner.reaper_interval = 300
c.ECSSpawner.reaper_margin = 120
c.ECSSpawner.reaper_dry_run = os.environ.get("REAPER_DRY_RUN", "1") == "1"

# Idle culler (it stops servers through the REST API; the spawner's stop() does the rest).
c.JupyterHub.load_roles = [
    {
        "name": "idle-culler",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["idle-culler"],
    }
]
c.JupyterHub.services = [
    {
        "name": "idle-culler",
        "command": ["python3", "-m", "jupyterhub_idle_culler", "--timeout=36000"],
    }
]

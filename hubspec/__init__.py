"""Service specs for the hub's ECS tasks: load, validate, render health checks.

Plain Python on purpose: the CDK app and the hub (config helpers, spawner) both
import it, and the hub must run without aws-cdk-lib or Node.js.
"""

from hubspec.errors import SpecError, SpecErrors
from hubspec.loader import load_catalog
from hubspec.model import Catalog, HealthCheckSpec, ServiceSpec, SizeSpec
from hubspec.naming import family_name
from hubspec.render import RenderedHealthCheck, render_health_check

__all__ = [
    "Catalog",
    "HealthCheckSpec",
    "RenderedHealthCheck",
    "ServiceSpec",
    "SizeSpec",
    "SpecError",
    "SpecErrors",
    "family_name",
    "load_catalog",
    "render_health_check",
]

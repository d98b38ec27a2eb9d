"""Health, readiness and Prometheus metrics for one replica behind a load balancer.

Every number here is per process: each replica exposes its own `/metrics`, and Prometheus
sums across replicas. Nothing is shared through the database or Redis.
"""

from bot.observability.health import Check, Health, database_check, redis_check
from bot.observability.metrics import Metrics, Role, endpoint_template
from bot.observability.web import HttpServer, build_web_app

__all__ = [
    "Check",
    "Health",
    "HttpServer",
    "Metrics",
    "Role",
    "build_web_app",
    "database_check",
    "endpoint_template",
    "redis_check",
]

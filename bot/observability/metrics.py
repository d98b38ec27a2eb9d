"""The replica's Prometheus metrics behind small typed methods.

`Metrics` owns its registry instead of using prometheus_client's global one, so several
apps in one process (the tests, the offline demo) never collide over metric names; callers
only see methods named after what happened, never a prometheus object. All values live in
this process: each replica is scraped on its own and Prometheus adds them up.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Final, Literal, get_args
from urllib.parse import urlsplit

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from bot.commands import Command

log = logging.getLogger(__name__)

Role = Literal["leader", "standby", "webhook"]
# busy: no free connection in our own pool within GATEWAY_POOL_WAIT (the gateway never saw it).
GatewayFailure = Literal["timeout", "transport", "busy"]

# Handlers and gateway calls range from a cached reply to a multi-minute image job.
LATENCY_BUCKETS: Final = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)

# Where the gateway puts an id whatever it looks like: /mj/task/{id}/fetch, /mj/image/{id}.
# Keyed by the first two segments; the value is the segment count (leading "" included).
_ID_POSITIONS: Final[dict[tuple[str, ...], int]] = {("mj", "task"): 5, ("mj", "image"): 4}
_VERSION = re.compile(r"^v\d+$")


def endpoint_template(path: str) -> str:
    """The route a concrete gateway path belongs to: the `endpoint` label of gateway metrics.

    MJ task and image ids become `{id}`; elsewhere any segment with a digit (other than a
    `v1`-style version) does too, so a path the client starts calling later still cannot
    mint one label value per request. A full URL or a query string is reduced to the path.
    """
    path = urlsplit(path).path.rstrip("/")
    parts = ["", *(part for part in path.split("/") if part)]
    if _ID_POSITIONS.get(tuple(parts[1:3])) == len(parts):
        parts[3] = "{id}"
    return "/".join("{id}" if _looks_like_id(part) else part for part in parts) or "/"


def _looks_like_id(part: str) -> bool:
    return any(c.isdigit() for c in part) and _VERSION.match(part) is None


class Metrics:
    """Every metric of one replica, in a registry of its own; `render()` is the scrape."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self._updates = Counter(
            "wenwen_updates_received_total",
            "Platform updates (messages, button presses) received, before de-duplication.",
            ["platform"],
            registry=r,
        )
        self._duplicates = Counter(
            "wenwen_updates_duplicate_total",
            "Redelivered updates dropped because another delivery was already handled.",
            ["platform"],
            registry=r,
        )
        self._handler = Histogram(
            "wenwen_handler_seconds",
            "Time to handle one typed command, failures included.",
            ["command"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self._gateway_requests = Counter(
            "wenwen_gateway_requests_total",
            "Requests to the wenwen gateway by endpoint template and HTTP status "
            "(or timeout/transport when there was none).",
            ["endpoint", "status"],
            registry=r,
        )
        self._gateway_seconds = Histogram(
            "wenwen_gateway_seconds",
            "Duration of wenwen gateway requests by endpoint template.",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self._platform_errors = Counter(
            "wenwen_platform_api_errors_total",
            "Errors returned by the Telegram or Discord API, by error code.",
            ["platform", "code"],
            registry=r,
        )
        self._mj_tasks = Gauge(
            "wenwen_mj_tasks",
            "Midjourney tasks: pending = undelivered in the shared database (the same on every "
            "replica: aggregate with max, not sum), claimed = leased by this replica.",
            ["state"],
            registry=r,
        )
        self._mj_delivered = Counter(
            "wenwen_mj_delivered_total",
            "Midjourney results delivered to a chat by this replica.",
            registry=r,
        )
        self._budget_refusals = Counter(
            "wenwen_budget_refusals_total",
            "Requests refused because a chat or user budget was exhausted.",
            registry=r,
        )
        self._rate_limited = Counter(
            "wenwen_rate_limited_total",
            "Requests refused by the per-chat rate limit.",
            registry=r,
        )
        self._pool_in_use = Gauge(
            "wenwen_db_pool_in_use",
            "Database connections checked out of this replica's pool, read at scrape time.",
            registry=r,
        )
        self._commits = Counter(
            "wenwen_db_commits_total",
            "Database transactions committed by this replica (a batch of writes counts once).",
            registry=r,
        )
        self._role = Gauge(
            "wenwen_replica_role",
            "1 for the role this replica currently plays, 0 for the others.",
            ["role"],
            registry=r,
        )
        self._pool_in_use.set_function(lambda: math.nan)  # no probe yet: unknown, not zero
        for state in ("pending", "claimed"):
            self._mj_tasks.labels(state=state).set(0)
        for name in get_args(Role):
            self._role.labels(role=name).set(0)

    # --- updates and handlers ----------------------------------------------------------------

    def update_received(self, platform: str) -> None:
        self._updates.labels(platform=platform).inc()

    def update_duplicate(self, platform: str) -> None:
        self._duplicates.labels(platform=platform).inc()

    def observe_handler(self, command: str, seconds: float) -> None:
        """`command` is the typed command's class name (`type(cmd).__name__`), never free text."""
        self._handler.labels(command=command).observe(seconds)

    @contextmanager
    def time_handler(self, command: Command) -> Iterator[None]:
        """Time the block as `type(command).__name__`, also when it raises."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.observe_handler(type(command).__name__, time.perf_counter() - started)

    # --- the gateway and the platforms -------------------------------------------------------

    def gateway_request(self, path: str, status: int | GatewayFailure, seconds: float) -> None:
        """One finished gateway call; `path` may be concrete, it is reduced to its template."""
        endpoint = endpoint_template(path)
        self._gateway_requests.labels(endpoint=endpoint, status=str(status)).inc()
        self._gateway_seconds.labels(endpoint=endpoint).observe(seconds)

    def platform_error(self, platform: str, code: int | str) -> None:
        self._platform_errors.labels(platform=platform, code=str(code)).inc()

    # --- Midjourney ----------------------------------------------------------------------------

    def mj_pending(self, n: int) -> None:
        self._mj_tasks.labels(state="pending").set(n)

    def mj_claimed(self, n: int) -> None:
        self._mj_tasks.labels(state="claimed").set(n)

    def mj_delivered(self) -> None:
        self._mj_delivered.inc()

    # --- admission -----------------------------------------------------------------------------

    def budget_refused(self) -> None:
        self._budget_refusals.inc()

    def rate_limited(self) -> None:
        self._rate_limited.inc()

    # --- the replica ---------------------------------------------------------------------------

    def set_pool_probe(self, probe: Callable[[], int]) -> None:
        """Read `probe()` at each scrape; a probe that raises shows NaN instead of failing the scrape."""

        def read() -> float:
            try:
                return float(probe())
            except Exception:
                log.warning("database pool probe failed", exc_info=True)
                return math.nan

        self._pool_in_use.set_function(read)

    def db_commit(self) -> None:
        self._commits.inc()

    def role(self, name: Role) -> None:
        """Mark `name` as the current role (1) and every other role 0, so queries can sum by role."""
        if name not in get_args(Role):
            raise ValueError(f"unknown replica role {name!r}")
        for other in get_args(Role):
            self._role.labels(role=other).set(1 if other == name else 0)

    def render(self) -> tuple[bytes, str]:
        """The scrape body and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

"""The replica's HTTP server over real sockets: liveness, readiness with real checks, metrics."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from redis.asyncio import Redis
from sqlalchemy.pool import QueuePool

from bot.observability import Health, HttpServer, Metrics, build_web_app, database_check, redis_check
from storage import Database

SECRET_URL = "redis://wenwen:hunter2-secret@10.0.0.9:6379/0"


class Switch:
    """A check the test turns on and off; when off it fails the way a driver would."""

    def __init__(self) -> None:
        self.passing = False

    async def __call__(self) -> None:
        if not self.passing:
            raise ConnectionError(f"Error connecting to {SECRET_URL}")


async def passing() -> None:
    return None


@dataclass
class Replica:
    base: str
    health: Health
    metrics: Metrics
    switch: Switch
    http: aiohttp.ClientSession


@pytest.fixture
async def replica(tmp_path: Path, redis_url: str) -> AsyncIterator[Replica]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/x.db")
    redis = Redis.from_url(redis_url)
    health = Health(timeout=2.0)
    switch = Switch()
    health.add_check("always", passing)
    health.add_check("switch", switch)
    health.add_check("database", database_check(db.engine))
    health.add_check("redis", redis_check(redis))
    metrics = Metrics()
    pool = db.engine.pool
    assert isinstance(pool, QueuePool)
    metrics.set_pool_probe(pool.checkedout)
    app = build_web_app(health, metrics)

    async def webhook(_request: web.Request) -> web.Response:
        return web.Response(text="webhook")

    app.router.add_post("/telegram/webhook", webhook)  # other code adds its routes to the same app
    server = HttpServer(shutdown_timeout=1.0)
    port = await server.start(app, "127.0.0.1", 0)
    assert port > 0
    try:
        async with aiohttp.ClientSession() as http:
            yield Replica(f"http://127.0.0.1:{port}", health, metrics, switch, http)
    finally:
        await server.stop()
        await redis.aclose()
        await db.dispose()


async def test_healthz_answers_while_the_process_serves(replica: Replica) -> None:
    async with replica.http.get(f"{replica.base}/healthz") as response:
        assert response.status == 200
        assert await response.text() == "ok"


async def test_readyz_follows_the_checks_and_draining(replica: Replica) -> None:
    async with replica.http.get(f"{replica.base}/readyz") as response:
        assert response.status == 503
        body = await response.json()
    assert body == {
        "ready": False,
        "checks": {"always": "ok", "switch": "failed: ConnectionError", "database": "ok", "redis": "ok"},
        "draining": False,
    }

    replica.switch.passing = True
    async with replica.http.get(f"{replica.base}/readyz") as response:
        assert response.status == 200
        body = await response.json()
    assert body["ready"] is True
    assert set(body["checks"].values()) == {"ok"}

    replica.health.start_draining()
    async with replica.http.get(f"{replica.base}/readyz") as response:
        assert response.status == 503
        body = await response.json()
    assert body["ready"] is False
    assert body["draining"] is True
    assert set(body["checks"].values()) == {"ok"}  # the dependencies are fine; the replica is leaving

    async with replica.http.get(f"{replica.base}/healthz") as response:
        assert response.status == 200  # draining is not dying: the process still serves


async def test_readyz_never_shows_exception_text(replica: Replica) -> None:
    async with replica.http.get(f"{replica.base}/readyz") as response:
        text = await response.text()
    assert "hunter2" not in text
    assert "10.0.0.9" not in text


async def test_metrics_are_scraped_over_http(replica: Replica) -> None:
    replica.metrics.update_received("telegram")
    replica.metrics.gateway_request("/mj/task/123/fetch", 200, 0.1)
    async with replica.http.get(f"{replica.base}/metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = await response.text()
    assert 'wenwen_updates_received_total{platform="telegram"} 1.0' in text
    assert 'wenwen_gateway_requests_total{endpoint="/mj/task/{id}/fetch",status="200"} 1.0' in text
    assert "wenwen_db_pool_in_use 0.0" in text  # the real pool, read at scrape time
    assert "# HELP wenwen_handler_seconds" in text


async def test_routes_added_by_other_code_are_served(replica: Replica) -> None:
    async with replica.http.post(f"{replica.base}/telegram/webhook") as response:
        assert response.status == 200
        assert await response.text() == "webhook"


async def test_a_hanging_check_times_out_and_checks_run_concurrently() -> None:
    health = Health(timeout=0.5)

    async def hangs() -> None:
        await asyncio.sleep(60)

    for name in ("first", "second", "third"):
        health.add_check(name, hangs)
    health.add_check("fine", passing)
    loop = asyncio.get_running_loop()
    started = loop.time()
    ready, checks = await health.readiness()
    elapsed = loop.time() - started
    assert ready is False
    late = "timeout after 0.5s"
    assert checks == {"first": late, "second": late, "third": late, "fine": "ok"}
    assert elapsed < 1.0  # the timeouts ran side by side: one after the other takes 1.5 s


async def test_real_checks_name_an_unreachable_service(tmp_path: Path) -> None:
    # Nothing listens on port 1; a folder is not a database file.
    redis = Redis.from_url("redis://:hunter2-secret@127.0.0.1:1/0", socket_connect_timeout=1)
    folder = tmp_path / "not-a-db"
    folder.mkdir()
    db = Database(f"sqlite+aiosqlite:///{folder}")
    health = Health(timeout=2.0)
    health.add_check("redis", redis_check(redis))
    health.add_check("database", database_check(db.engine))
    try:
        ready, checks = await health.readiness()
    finally:
        await redis.aclose()
        await db.dispose()
    assert ready is False
    assert checks == {"redis": "failed: ConnectionError", "database": "failed: OperationalError"}


async def test_a_server_starts_once_and_stops_idempotently() -> None:
    server = HttpServer()
    app = build_web_app(Health(), Metrics())
    await server.start(app, "127.0.0.1", 0)
    with pytest.raises(RuntimeError, match="already started"):
        await server.start(build_web_app(Health(), Metrics()), "127.0.0.1", 0)
    await server.stop()
    await server.stop()


def test_check_names_are_unique() -> None:
    health = Health()
    health.add_check("database", passing)
    with pytest.raises(ValueError, match="already registered"):
        health.add_check("database", passing)

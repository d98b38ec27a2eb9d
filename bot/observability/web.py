"""The replica's one HTTP server: probes and metrics now, the Telegram webhook beside them later.

One port per replica keeps the load balancer and Prometheus configuration simple: `/healthz`
for liveness, `/readyz` for routing, `/metrics` for scraping.
"""

from __future__ import annotations

import logging

from aiohttp import web

from bot.observability.health import Health
from bot.observability.metrics import Metrics

log = logging.getLogger(__name__)

# Probes must never be answered from a cache between the balancer and us.
_NO_STORE = {"Cache-Control": "no-store"}


class _Endpoints:
    def __init__(self, health: Health, metrics: Metrics) -> None:
        self.health = health
        self.metrics = metrics

    async def healthz(self, _request: web.Request) -> web.Response:
        return web.Response(text="ok", headers=_NO_STORE)

    async def readyz(self, _request: web.Request) -> web.Response:
        ready, checks = await self.health.readiness()
        body = {"ready": ready, "checks": checks, "draining": self.health.draining}
        return web.json_response(body, status=200 if ready else 503, headers=_NO_STORE)

    async def metrics_text(self, _request: web.Request) -> web.Response:
        body, content_type = self.metrics.render()
        # Set as a header: aiohttp's content_type argument refuses a charset parameter.
        return web.Response(body=body, headers={"Content-Type": content_type})


def build_web_app(health: Health, metrics: Metrics) -> web.Application:
    """The probe and metrics routes; not frozen, so the webhook can add its route to it."""
    endpoints = _Endpoints(health, metrics)
    app = web.Application()
    app.add_routes(
        [
            web.get("/healthz", endpoints.healthz),
            web.get("/readyz", endpoints.readyz),
            web.get("/metrics", endpoints.metrics_text),
        ]
    )
    return app


class HttpServer:
    """Serves one application on one TCP port until `stop()`; no access log (probes hit it often)."""

    def __init__(self, *, shutdown_timeout: float = 5.0) -> None:
        self.shutdown_timeout = shutdown_timeout
        self._runner: web.AppRunner | None = None

    async def start(self, app: web.Application, host: str, port: int) -> int:
        """Bind and serve; returns the bound port (pass 0 for any free port)."""
        if self._runner is not None:
            raise RuntimeError("HttpServer is already started")
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=self.shutdown_timeout)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        bound: int = runner.addresses[0][1]
        log.info("HTTP server listening on %s:%d", host, bound)
        return bound

    async def stop(self) -> None:
        """Stop accepting, let requests in flight finish (up to `shutdown_timeout`), close."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

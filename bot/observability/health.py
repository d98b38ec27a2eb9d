"""Readiness: may the load balancer send this replica traffic right now?

Liveness (`/healthz`) only says the process serves HTTP; readiness also asks the services a
request needs (database, Redis) and turns false while the replica drains before shutdown, so
the balancer stops routing to it before its connections close. The checks and the draining
flag are per process; nothing here is shared between replicas.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:  # redis-py is imported only when REDIS_URL is set
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

Check = Callable[[], Awaitable[None]]
"""A readiness check: returns when the dependency is usable, raises otherwise."""

OK = "ok"


class Health:
    """Named readiness checks run together, each under its own timeout, plus the draining flag."""

    def __init__(self, *, timeout: float = 2.0) -> None:
        self.timeout = timeout
        self._checks: dict[str, Check] = {}
        self._draining = False
        # Last result per check: a failure is logged when it starts, not on every probe.
        self._last: dict[str, str] = {}

    def add_check(self, name: str, check: Check) -> None:
        if name in self._checks:
            raise ValueError(f"readiness check {name!r} is already registered")
        self._checks[name] = check

    @property
    def draining(self) -> bool:
        return self._draining

    def start_draining(self) -> None:
        """Report not ready from now on, so the balancer moves traffic away before shutdown."""
        if not self._draining:
            log.info("draining: readiness now reports not ready")
        self._draining = True

    async def readiness(self) -> tuple[bool, dict[str, str]]:
        """Run every check concurrently: ready when all say "ok" and the replica is not draining.

        Each value is "ok" or a short reason naming only the exception type: the body is shown
        to whoever can reach the port, and an exception's text may hold a URL with a password.
        """
        names = list(self._checks)
        reasons = await asyncio.gather(*(self._run(name, self._checks[name]) for name in names))
        results = dict(zip(names, reasons, strict=True))
        ready = not self._draining and all(reason == OK for reason in results.values())
        return ready, results

    async def _run(self, name: str, check: Check) -> str:
        try:
            async with asyncio.timeout(self.timeout):
                await check()
        except TimeoutError:
            reason = f"timeout after {self.timeout:g}s"
            self._changed(name, reason, None)
        except Exception as exc:
            reason = f"failed: {type(exc).__name__}"
            self._changed(name, reason, exc)
        else:
            reason = OK
            self._changed(name, reason, None)
        return reason

    def _changed(self, name: str, reason: str, exc: Exception | None) -> None:
        previous = self._last.get(name)
        self._last[name] = reason
        if previous == reason:
            return
        if reason == OK:
            if previous is not None:
                log.info("readiness check %r recovered", name)
        else:
            # The log (secrets redacted by bot.logs) may carry the details the HTTP body must not.
            log.warning("readiness check %r %s", name, reason, exc_info=exc)


def database_check(engine: AsyncEngine) -> Check:
    """`SELECT 1` on a pooled connection: the database answers and the pool can hand one out."""

    async def check() -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    return check


def redis_check(client: Redis) -> Check:
    """PING: Redis answers (shared limits and locks need it)."""

    async def check() -> None:
        answer = client.ping()  # typed for both the sync and the asyncio client
        if inspect.isawaitable(answer):
            answer = await answer
        if not answer:
            raise ConnectionError("Redis did not answer PING")

    return check

"""Rate limits, job slots and locks shared through the database (replicas without Redis)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from sqlalchemy import text

from bot.admission.ratelimit import SlotsFull, Throttled
from bot.lifecycle.instance import Instance
from storage import Database
from storage.clock import utc_now


class DatabaseRateLimiter:
    """At most `limit` hits per `window` seconds per key, counted in the `rate_hits` table."""

    def __init__(self, db: Database, limit: int, window: float = 60.0) -> None:
        self._db = db
        self._limit = limit
        self._window = timedelta(seconds=window)

    async def hit(self, key: str) -> Throttled | None:
        if self._limit <= 0:
            return None
        async with self._db.unit_of_work() as uow:
            wait = await uow.rates.hit(key, self._window, self._limit)
            await uow.commit()
        if wait is None:
            return None
        free_at = utc_now() + wait
        # One "slow down" per burst for all replicas: a lease nobody renews, taken by the first.
        async with self._db.unit_of_work() as uow:
            first = await uow.leases.acquire(f"told:{key}", uuid.uuid4().hex, free_at)
            await uow.commit()
        return Throttled(retry_after=wait.total_seconds(), first=first)


class DatabaseSlots:
    """At most `limit` jobs at once per key, held as `job_slots` rows owned by an instance."""

    def __init__(self, db: Database, instance: Instance, limit: int) -> None:
        self._db = db
        self._instance = instance
        self._limit = limit

    @asynccontextmanager
    async def take(self, key: str) -> AsyncIterator[None]:
        if self._limit <= 0:
            yield
            return
        slot = uuid.uuid4().hex
        gone = await self._instance.gone()
        async with self._db.unit_of_work() as uow:
            running = await uow.slots.take(key, slot, self._instance.id, self._limit, gone=gone)
            await uow.commit()
        if running >= self._limit:
            raise SlotsFull(running)
        try:
            yield
        finally:
            async with self._db.unit_of_work() as uow:
                await uow.slots.release(slot)
                await uow.commit()


class PostgresLocks:
    """Session advisory locks, held on a connection of their own while the block runs."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @asynccontextmanager
    async def lock(self, name: str) -> AsyncIterator[None]:
        async with self._db.engine.connect() as conn:
            try:
                await conn.execute(text("SELECT pg_advisory_lock(hashtext(:name))"), {"name": name})
                try:
                    yield
                finally:
                    await conn.execute(text("SELECT pg_advisory_unlock(hashtext(:name))"), {"name": name})
            except BaseException:
                # Cancelled or failed half-way, the session may still hold the lock: end it
                # rather than hand it back to the pool, or the name stays locked for good.
                await conn.invalidate()
                raise

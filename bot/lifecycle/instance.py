"""This process as the database knows it: an id, a liveness lock, and who else is gone.

Reservations, jobs, journaled updates and Midjourney leases carry their owner's instance
id. An owner is *gone* when it no longer holds its liveness lock (storage.instances): a
crashed process loses it at once, so its leftovers are taken over on the next start (or
by another replica) without waiting for a timeout.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import timedelta

from storage import Database
from storage.clock import utc_now
from storage.instances import Liveness, host_and_pid

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10.0
GONE_CACHE_SECONDS = 2.0
# Stopped instances are forgotten after a while (their rows only help an operator look back).
KEEP_STOPPED = timedelta(days=7)


class Instance:
    def __init__(self, db: Database, liveness: Liveness, instance_id: str | None = None) -> None:
        self.id = instance_id or uuid.uuid4().hex[:16]
        self._db = db
        self._liveness = liveness
        self._gone: tuple[float, frozenset[str]] = (0.0, frozenset())

    async def start(self) -> None:
        await self._liveness.hold(self.id)
        host, pid = host_and_pid()
        async with self._db.unit_of_work() as uow:
            await uow.instances.register(self.id, host, pid)
            await uow.instances.forget_stopped_before(utc_now() - KEEP_STOPPED)
            await uow.commit()
        log.info("instance %s started (pid %s on %s)", self.id, pid, host)

    async def stop(self) -> None:
        """A clean exit: say so, and drop the liveness lock so others take over at once."""
        try:
            async with self._db.unit_of_work() as uow:
                await uow.instances.stopped(self.id)
                await uow.commit()
        finally:
            await self._liveness.release()
        log.info("instance %s stopped", self.id)

    async def gone(self) -> frozenset[str]:
        """Instances that are not running any more (cached for a moment: asked on every poll)."""
        at, known = self._gone
        if time.monotonic() - at < GONE_CACHE_SECONDS:
            return known
        async with self._db.unit_of_work() as uow:
            registered = await uow.instances.known()
        others = [i for i in registered if i != self.id]
        alive = await self._liveness.alive(others)
        found = frozenset(i for i in others if i not in alive)
        self._gone = (time.monotonic(), found)
        return found

    async def forget(self, instance_ids: frozenset[str]) -> None:
        """Gone instances whose leftovers were taken over: recorded as stopped (for operators)."""
        async with self._db.unit_of_work() as uow:
            for instance_id in instance_ids:
                await uow.instances.stopped(instance_id)
            await uow.commit()

    async def heartbeat(self) -> None:
        """Keeps `heartbeat_at` current for operators (liveness itself is the lock)."""
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            try:
                async with self._db.unit_of_work() as uow:
                    await uow.instances.heartbeat(self.id)
                    await uow.commit()
            except Exception as exc:  # a database hiccup must not end the process
                log.warning("instance heartbeat failed: %s", type(exc).__name__)

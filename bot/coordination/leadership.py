"""Roles only one replica may hold at a time (who polls Telegram, who syncs slash commands).

A role is a lease in the database, renewed by its holder; another replica takes it when the
lease lapses — or at once when the holder is gone (bot.lifecycle.instance), so a killed
leader is replaced within one standby round.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from bot.lifecycle.instance import Instance
from storage import Database
from storage.clock import utc_now

log = logging.getLogger(__name__)

LEASE_SECONDS = 15.0
ROUND_SECONDS = 5.0


class Leadership:
    def __init__(self, db: Database, instance: Instance, *, lease: float = LEASE_SECONDS) -> None:
        self._db = db
        self._instance = instance
        self._lease = timedelta(seconds=lease)

    async def try_hold(self, role: str) -> bool:
        """Take the role or renew it; False while another live replica holds it."""
        gone = await self._instance.gone()
        async with self._db.unit_of_work() as uow:
            held = await uow.leases.acquire(role, self._instance.id, utc_now() + self._lease, gone=gone)
            await uow.commit()
        return held

    async def wait_for(self, role: str, *, every: float = ROUND_SECONDS) -> None:
        """Stand by until this replica holds the role."""
        announced = False
        while not await self.try_hold(role):
            if not announced:
                log.info("%s: another replica holds it; standing by", role)
                announced = True
            await asyncio.sleep(every)
        log.info("%s: this replica holds it now", role)

    async def keep(self, role: str, *, every: float = ROUND_SECONDS) -> None:
        """Renew the role until cancelled; returns if it was lost (the caller steps down)."""
        while True:
            await asyncio.sleep(every)
            try:
                if not await self.try_hold(role):
                    log.warning("%s: lost to another replica", role)
                    return
            except Exception as exc:  # a database hiccup: try again next round, the lease has slack
                log.warning("%s: could not renew (%s)", role, type(exc).__name__)

    async def release(self, role: str) -> None:
        try:
            async with self._db.unit_of_work() as uow:
                await uow.leases.release(role, self._instance.id)
                await uow.commit()
        except Exception as exc:
            log.warning("%s: could not release (%s)", role, type(exc).__name__)

"""The one place a usage event is recorded: priced, stored once, and settled against its hold."""

from __future__ import annotations

from bot.usage.budgets import Hold, settle
from bot.usage.ledger import Ledger
from storage import Database, UnitOfWork, UsageEvent


class Recorder:
    def __init__(self, ledger: Ledger, db: Database) -> None:
        self.ledger = ledger
        self._db = db

    async def add(self, uow: UnitOfWork, event: UsageEvent, hold: Hold) -> None:
        """Inside the caller's transaction, together with the rest of its bookkeeping."""
        priced = await self.ledger.add(uow, event)
        if priced is not None:
            await settle(uow, hold, priced)

    async def record(self, event: UsageEvent, hold: Hold) -> None:
        """In a transaction of its own, for a call with no other bookkeeping."""
        async with self._db.unit_of_work() as uow:
            await self.add(uow, event, hold)
            await uow.commit()

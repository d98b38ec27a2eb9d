"""The inbound journal as adapters use it: accept an update (once), mark it handled.

An adapter acknowledges an update to its platform only after `accept` returned (Telegram:
the next getUpdates offset; a webhook: its HTTP answer), so a crash cannot lose it; a
redelivered update is not accepted twice. `bot.lifecycle.recovery` replays what a gone
instance accepted but never handled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Iterable
from datetime import timedelta

from bot.model import Receipt
from bot.observability.metrics import Metrics
from bot.tasks import cut_off
from storage import Database
from storage.clock import utc_now
from storage.writer import Writer
from storage.writes import Journal, Writes, Written

log = logging.getLogger(__name__)

# Handled updates are kept this long: platforms redeliver within minutes, not days.
KEEP_HANDLED = timedelta(days=2)


class Inbound:
    def __init__(self, db: Database, writer: Writer, instance_id: str, metrics: Metrics) -> None:
        self._db = db
        self._writer = writer
        self._instance = instance_id
        self._metrics = metrics

    async def accept(self, platform: str, update_id: str, payload: str) -> bool:
        """Journal the update; False for one seen before (drop it)."""
        return await self.submit(platform, update_id, payload)

    def submit(self, platform: str, update_id: str, payload: str) -> asyncio.Future[bool]:
        """Queue the update for the journal at once; the future says whether it was new.

        For an adapter that acknowledges a whole batch later (Telegram polling: the next
        getUpdates) after `self.flushed()`: the batch is journaled in one transaction.
        """
        entry = Journal(platform, update_id, payload, self._instance)
        written = self._writer.submit(Writes(journal=(entry,)))
        return asyncio.ensure_future(self._fresh(entry, written))

    async def flushed(self) -> None:
        """Everything submitted so far is journaled (or failed)."""
        await self._writer.flushed()

    async def _fresh(self, entry: Journal, written: Awaitable[Written]) -> bool:
        fresh = entry.key in (await written).fresh
        if fresh:
            self._metrics.update_received(entry.platform)
        else:
            self._metrics.update_duplicate(entry.platform)
            log.info("%s update %s was delivered again; dropped", entry.platform, entry.update_id)
        return fresh

    async def handled(self, platform: str, update_ids: Iterable[str]) -> None:
        await self._writer.write(Writes(handled=tuple((platform, update_id) for update_id in update_ids)))

    async def settle(self, receipt: Receipt) -> None:
        """When the handler returns: its updates are handled, unless its own last write said so.

        Not when it was cut off by shutdown (cancelled at the drain's deadline): the next start
        handles them again (bot.lifecycle.recovery), rather than leaving them unanswered.
        """
        if cut_off():
            log.info(
                "%s updates %s cut off by shutdown; left to the next start",
                receipt.platform,
                receipt.update_ids,
            )
            return
        if keys := receipt.unmarked():
            await self._writer.write(Writes(handled=keys))
            receipt.marked = True

    async def prune(self) -> int:
        async with self._db.unit_of_work() as uow:
            dropped = await uow.inbound.forget_handled_before(utc_now() - KEEP_HANDLED)
            await uow.commit()
        return dropped

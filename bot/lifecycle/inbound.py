"""The inbound journal as adapters use it: accept an update (once), mark it handled.

An adapter acknowledges an update to its platform only after `accept` returned (Telegram:
the next getUpdates offset; a webhook: its HTTP answer), so a crash cannot lose it; a
redelivered update is not accepted twice. `bot.lifecycle.recovery` replays what a gone
instance accepted but never handled.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta

from bot.observability.metrics import Metrics
from storage import Database
from storage.clock import utc_now

log = logging.getLogger(__name__)

# Handled updates are kept this long: platforms redeliver within minutes, not days.
KEEP_HANDLED = timedelta(days=2)


class Inbound:
    def __init__(self, db: Database, instance_id: str, metrics: Metrics) -> None:
        self._db = db
        self._instance = instance_id
        self._metrics = metrics

    async def accept(self, platform: str, update_id: str, payload: str) -> bool:
        """Journal the update; False for one seen before (drop it)."""
        async with self._db.unit_of_work() as uow:
            fresh = await uow.inbound.record(platform, update_id, payload, self._instance)
            await uow.commit()
        if fresh:
            self._metrics.update_received(platform)
        else:
            self._metrics.update_duplicate(platform)
            log.info("%s update %s was delivered again; dropped", platform, update_id)
        return fresh

    async def handled(self, platform: str, update_ids: Iterable[str]) -> None:
        async with self._db.unit_of_work() as uow:
            await uow.inbound.handled(platform, update_ids)
            await uow.commit()

    async def prune(self) -> int:
        async with self._db.unit_of_work() as uow:
            dropped = await uow.inbound.forget_handled_before(utc_now() - KEEP_HANDLED)
            await uow.commit()
        return dropped

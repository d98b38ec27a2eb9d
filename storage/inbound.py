"""The inbound journal: platform updates written down before they are acknowledged.

An update is acknowledged to its platform (Telegram's next `getUpdates` offset, a webhook's
200) only after it is journaled here, so a crash cannot lose it; the primary key
(platform, update id) drops a redelivered one. After a crash, updates whose owner is gone
and that were never handled are claimed by another instance and handled (or answered).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import dialect
from storage.clock import as_utc, utc_now
from storage.records import InboundUpdate
from storage.tables import InboundRow

RECEIVED = "received"
HANDLED = "handled"


class InboundRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record(self, platform: str, update_id: str, payload: str, instance_id: str) -> bool:
        """Journal one update; False when it was journaled before (a redelivery)."""
        result = await self._session.execute(
            dialect.insert(self._session, InboundRow)
            .values(
                platform=platform,
                update_id=update_id,
                payload=payload,
                state=RECEIVED,
                instance_id=instance_id,
                received_at=utc_now(),
            )
            .on_conflict_do_nothing(index_elements=["platform", "update_id"])
            .returning(InboundRow.update_id)
        )
        return result.first() is not None

    async def handled(self, platform: str, update_ids: Iterable[str]) -> None:
        ids = list(update_ids)
        if ids:
            await self._session.execute(
                update(InboundRow)
                .where(InboundRow.platform == platform, InboundRow.update_id.in_(ids))
                .values(state=HANDLED, handled_at=utc_now())
            )

    async def unhandled(self, platform: str, update_ids: Iterable[str]) -> set[str]:
        """Those of these updates that are journaled and not handled yet."""
        ids = list(update_ids)
        if not ids:
            return set()
        found = await self._session.scalars(
            select(InboundRow.update_id).where(
                InboundRow.platform == platform,
                InboundRow.update_id.in_(ids),
                InboundRow.state == RECEIVED,
            )
        )
        return set(found)

    async def claim_orphans(
        self, platform: str, owners: Iterable[str], new_owner: str
    ) -> list[InboundUpdate]:
        """Unhandled updates of these (gone) instances, now owned by `new_owner`, oldest first."""
        gone = list(owners)
        if not gone:
            return []
        ids = list(
            await self._session.scalars(
                update(InboundRow)
                .where(
                    InboundRow.platform == platform,
                    InboundRow.state == RECEIVED,
                    InboundRow.instance_id.in_(gone),
                )
                .values(instance_id=new_owner)
                .returning(InboundRow.update_id)
            )
        )
        if not ids:
            return []
        rows = await self._session.scalars(
            select(InboundRow)
            .where(InboundRow.platform == platform, InboundRow.update_id.in_(ids))
            .order_by(InboundRow.received_at)
        )
        return [InboundUpdate(r.platform, r.update_id, r.payload, r.received_at) for r in rows]

    async def forget_handled_before(self, moment: datetime) -> int:
        """Handled updates are kept a while (redeliveries come soon after), then dropped."""
        result = await self._session.execute(
            delete(InboundRow)
            .where(InboundRow.state == HANDLED, InboundRow.handled_at < as_utc(moment))
            .returning(InboundRow.update_id)
        )
        return len(result.all())

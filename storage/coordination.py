"""What replicas share through the database: leases, album parts, rate hits and job slots.

Every write here is one statement or starts with its write (see storage.chats.ensure for
why SQLite needs that); PostgreSQL serializes per key with transaction advisory locks.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import dialect
from storage.clock import as_utc, utc_now
from storage.tables import AlbumPartRow, JobSlotRow, LeaseRow, RateHitRow


async def _lock_key(session: AsyncSession, key: str) -> None:
    """PostgreSQL: one transaction per key at a time. SQLite has one writer anyway."""
    if dialect.backend(session) == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})


class LeaseRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def acquire(self, name: str, owner: str, until: datetime, *, gone: Iterable[str] = ()) -> bool:
        """Take (or renew) the lease: free, lapsed, held by `owner` already, or by a gone instance."""
        insert = dialect.insert(self._session, LeaseRow).values(name=name, owner=owner, until=as_utc(until))
        takeable = (
            (LeaseRow.owner == insert.excluded.owner)
            | (LeaseRow.until < as_utc(utc_now()))
            | LeaseRow.owner.in_(list(gone))
        )
        result = await self._session.execute(
            insert.on_conflict_do_update(
                index_elements=["name"],
                set_={"owner": insert.excluded.owner, "until": insert.excluded.until},
                where=takeable,
            ).returning(LeaseRow.owner)
        )
        return result.first() is not None

    async def release(self, name: str, owner: str) -> None:
        await self._session.execute(delete(LeaseRow).where(LeaseRow.name == name, LeaseRow.owner == owner))

    async def holder(self, name: str) -> str | None:
        return await self._session.scalar(select(LeaseRow.owner).where(LeaseRow.name == name))


class AlbumRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, platform: str, group_key: str, part_id: str, payload: str) -> None:
        await self._session.execute(
            dialect.insert(self._session, AlbumPartRow)
            .values(
                platform=platform,
                group_key=group_key,
                part_id=part_id,
                payload=payload,
                received_at=utc_now(),
            )
            .on_conflict_do_nothing(index_elements=["platform", "group_key", "part_id"])
        )

    async def newest(self, platform: str, group_key: str) -> datetime | None:
        return await self._session.scalar(
            select(func.max(AlbumPartRow.received_at)).where(
                AlbumPartRow.platform == platform, AlbumPartRow.group_key == group_key
            )
        )

    async def claim(self, platform: str, group_key: str, owner: str) -> list[tuple[str, str]]:
        """The album's unclaimed parts, now `owner`'s: (part id, payload). Empty if another won."""
        await _lock_key(self._session, f"album:{platform}:{group_key}")
        result = await self._session.execute(
            update(AlbumPartRow)
            .where(
                AlbumPartRow.platform == platform,
                AlbumPartRow.group_key == group_key,
                AlbumPartRow.claimed_by.is_(None),
            )
            .values(claimed_by=owner)
            .returning(AlbumPartRow.part_id, AlbumPartRow.payload)
        )
        return [(row[0], row[1]) for row in result]

    async def claimed_before(self, platform: str, group_key: str, owner: str) -> bool:
        """Someone (else) already handled this album: a part arriving now is late."""
        count = await self._session.scalar(
            select(func.count())
            .select_from(AlbumPartRow)
            .where(
                AlbumPartRow.platform == platform,
                AlbumPartRow.group_key == group_key,
                AlbumPartRow.claimed_by.is_not(None),
                AlbumPartRow.claimed_by != owner,
            )
        )
        return bool(count)

    async def forget_before(self, moment: datetime) -> None:
        await self._session.execute(delete(AlbumPartRow).where(AlbumPartRow.received_at < as_utc(moment)))


class RateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def hit(self, key: str, window: timedelta, limit: int) -> timedelta | None:
        """Count a hit if fewer than `limit` within `window`; else how long until one expires."""
        await _lock_key(self._session, f"rate:{key}")
        # Read the clock under the lock, so hits are stamped in the order they are counted.
        now = utc_now()
        await self._session.execute(
            delete(RateHitRow).where(RateHitRow.key == key, RateHitRow.at <= as_utc(now - window))
        )
        hits = list(
            await self._session.scalars(
                select(RateHitRow.at).where(RateHitRow.key == key).order_by(RateHitRow.at)
            )
        )
        if len(hits) >= limit:
            return max(as_utc(hits[0]) + window - now, timedelta(0))
        self._session.add(RateHitRow(key=key, at=now))
        await self._session.flush()
        return None


class SlotRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def take(self, key: str, slot_id: str, instance_id: str, limit: int, *, gone: Iterable[str]) -> int:
        """Take a slot if fewer than `limit` are held (slots of gone instances do not count).

        Returns how many were running before: below `limit` means the slot is now held.
        """
        await _lock_key(self._session, f"slots:{key}")
        await self._session.execute(
            delete(JobSlotRow).where(JobSlotRow.key == key, JobSlotRow.instance_id.in_(list(gone)))
        )
        running = int(
            await self._session.scalar(
                select(func.count()).select_from(JobSlotRow).where(JobSlotRow.key == key)
            )
            or 0
        )
        if running < limit:
            self._session.add(JobSlotRow(id=slot_id, key=key, instance_id=instance_id, taken_at=utc_now()))
            await self._session.flush()
        return running

    async def release(self, slot_id: str) -> None:
        await self._session.execute(delete(JobSlotRow).where(JobSlotRow.id == slot_id))

    async def release_owned_by(self, owners: Iterable[str]) -> None:
        gone = list(owners)
        if gone:
            await self._session.execute(delete(JobSlotRow).where(JobSlotRow.instance_id.in_(gone)))

"""Albums whose parts reach different replicas (webhooks behind a load balancer).

Telegram sends an album as separate updates; behind a load balancer they land on any
replica. Each part is stored here; every replica that got one waits until no new part has
come for `wait` seconds, then tries to claim the album: one claim wins and handles every
part, the others have nothing left to do. A part that comes after the album was handled is
late, and dropped (as a single-process collector does).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from storage import Database
from storage.clock import utc_now

KEEP = timedelta(hours=1)


class SharedAlbums:
    def __init__(self, db: Database, instance_id: str, wait: float) -> None:
        self._db = db
        self._instance = instance_id
        self._wait = wait

    async def add(self, platform: str, group_key: str, part_id: str, payload: str) -> bool:
        """Store a part; False when the album was already handled (a late part)."""
        async with self._db.unit_of_work() as uow:
            await uow.albums.add(platform, group_key, part_id, payload)
            late = await uow.albums.claimed_before(platform, group_key, self._instance)
            await uow.commit()
        return not late

    async def collect(self, platform: str, group_key: str) -> list[tuple[str, str]]:
        """Wait for the album to be complete, then claim it: its parts, or none if another replica won."""
        while True:
            async with self._db.unit_of_work() as uow:
                newest = await uow.albums.newest(platform, group_key)
            if newest is None:
                return []
            quiet_for = (utc_now() - newest).total_seconds()
            if quiet_for >= self._wait:
                break
            await asyncio.sleep(self._wait - quiet_for + 0.01)
        async with self._db.unit_of_work() as uow:
            parts = await uow.albums.claim(platform, group_key, self._instance)
            await uow.albums.forget_before(utc_now() - KEEP)
            await uow.commit()
        return parts

"""Telegram delivers an album as separate updates sharing `media_group_id`; collect them."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiogram.types import Message

from bot.tasks import reap

log = logging.getLogger(__name__)

AlbumKey = tuple[int, str]


@dataclass(frozen=True)
class Part:
    """One message of an album and the update it came in (marked handled with the album)."""

    message: Message
    update_id: str
    replayed: bool = False  # journaled by an instance that died, handled again (a restart)


OnAlbum = Callable[[list[Part]], Awaitable[None]]

# How long a sent-on album is remembered, so that a part arriving after it is not
# taken for a new album (Telegram delivers the parts of a slow upload seconds apart).
LATE_PART_WINDOW = 120.0


class AlbumCollector:
    """Buffers album parts until none has arrived for `wait` seconds, then emits them together."""

    def __init__(self, wait: float, on_album: OnAlbum) -> None:
        self._wait = wait
        self._on_album = on_album
        self._parts: dict[AlbumKey, list[Part]] = {}
        self._timers: dict[AlbumKey, asyncio.Task[None]] = {}
        self._flushed: dict[AlbumKey, float] = {}  # key → when it was sent on (monotonic)

    def add(self, part: Part) -> bool:
        """Collect a part; False for a part of an album already sent on (it is ignored)."""
        message = part.message
        assert message.media_group_id is not None
        key = (message.chat.id, message.media_group_id)
        self._forget_old_albums()
        if key in self._flushed:
            # The album has already gone to the handler; alone, this part would read as a
            # new request without its caption.
            log.warning("album %s: part %s arrived too late, ignored", key[1], message.message_id)
            return False
        self._parts.setdefault(key, []).append(part)
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        self._timers[key] = asyncio.create_task(self._flush_later(key))
        return True

    def _forget_old_albums(self) -> None:
        horizon = time.monotonic() - LATE_PART_WINDOW
        for key in [key for key, at in self._flushed.items() if at < horizon]:
            del self._flushed[key]

    async def _flush_later(self, key: AlbumKey) -> None:
        await asyncio.sleep(self._wait)
        self._timers.pop(key, None)
        self._flushed[key] = time.monotonic()
        parts = sorted(self._parts.pop(key, []), key=lambda p: p.message.message_id)
        if parts:
            log.info("album %s: %d parts collected", key[1], len(parts))
            await self._on_album(parts)

    async def close(self) -> None:
        timers = list(self._timers.values())
        for timer in timers:
            timer.cancel()
        for timer in timers:
            await reap(timer)

"""Telegram delivers an album as separate updates sharing `media_group_id`; collect them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from aiogram.types import Message

log = logging.getLogger(__name__)

OnAlbum = Callable[[list[Message]], Awaitable[None]]


class AlbumCollector:
    """Buffers album parts until none has arrived for `wait` seconds, then emits them together."""

    def __init__(self, wait: float, on_album: OnAlbum) -> None:
        self._wait = wait
        self._on_album = on_album
        self._parts: dict[tuple[int, str], list[Message]] = {}
        self._timers: dict[tuple[int, str], asyncio.Task[None]] = {}

    def add(self, message: Message) -> None:
        assert message.media_group_id is not None
        key = (message.chat.id, message.media_group_id)
        self._parts.setdefault(key, []).append(message)
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        self._timers[key] = asyncio.create_task(self._flush_later(key))

    async def _flush_later(self, key: tuple[int, str]) -> None:
        await asyncio.sleep(self._wait)
        self._timers.pop(key, None)
        parts = sorted(self._parts.pop(key, []), key=lambda m: m.message_id)
        if parts:
            log.info("album %s: %d parts collected", key[1], len(parts))
            await self._on_album(parts)

    async def close(self) -> None:
        timers = list(self._timers.values())
        for timer in timers:
            timer.cancel()
        for timer in timers:
            with contextlib.suppress(asyncio.CancelledError):
                await timer

"""Shared limits: requests per user per minute, jobs running at once per chat, per-chat locks.

The protocols are what admission needs; the implementations here keep their state in this
process (one replica). Several replicas share theirs through Redis or the database.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

_SWEEP_EVERY = 1000  # hits between sweeps of idle users, so the table does not grow forever


@dataclass(frozen=True)
class Throttled:
    retry_after: float
    # The first refusal in this burst gets a reply; the rest are ignored quietly.
    first: bool


class RateLimiter(Protocol):
    async def hit(self, key: str) -> Throttled | None:
        """Count one request; None when allowed, else how long to wait."""
        ...


class Slots(Protocol):
    def take(self, key: str) -> AbstractAsyncContextManager[None]:
        """Hold one of `key`'s slots while the block runs; SlotsFull when none is free."""
        ...


class Locks(Protocol):
    def lock(self, name: str) -> AbstractAsyncContextManager[None]:
        """Mutual exclusion for `name` while the block runs."""
        ...


class SlotsFull(Exception):
    def __init__(self, running: int) -> None:
        super().__init__(f"{running} running")
        self.running = running


class MemoryRateLimiter:
    """At most `limit` hits per `window` seconds per key (a sliding window), in this process."""

    def __init__(self, limit: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = limit
        self._window = window
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._told_until: dict[str, float] = {}
        self._since_sweep = 0

    async def hit(self, key: str) -> Throttled | None:
        if self._limit <= 0:
            return None
        now = self._clock()
        self._sweep(now)
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self._window:
            hits.popleft()
        if len(hits) < self._limit:
            hits.append(now)
            return None
        free_at = hits[0] + self._window
        first = self._told_until.get(key, 0.0) <= now
        self._told_until[key] = free_at
        return Throttled(retry_after=free_at - now, first=first)

    def _sweep(self, now: float) -> None:
        self._since_sweep += 1
        if self._since_sweep < _SWEEP_EVERY:
            return
        self._since_sweep = 0
        idle = [key for key, hits in self._hits.items() if not hits or hits[-1] <= now - self._window]
        for key in idle:
            del self._hits[key]
            self._told_until.pop(key, None)


class MemorySlots:
    """At most `limit` jobs at once per key (0: no limit); a full key refuses, never queues."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._running: dict[str, int] = {}

    @asynccontextmanager
    async def take(self, key: str) -> AsyncIterator[None]:
        running = self._running.get(key, 0)
        if self._limit > 0 and running >= self._limit:
            raise SlotsFull(running)
        self._running[key] = running + 1
        try:
            yield
        finally:
            left = self._running[key] - 1
            if left:
                self._running[key] = left
            else:
                del self._running[key]


class MemoryLocks:
    """One asyncio.Lock per name, forgotten when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    @asynccontextmanager
    async def lock(self, name: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(name, asyncio.Lock())
        async with lock:
            yield

"""Rate limits kept in memory: requests per user per minute, image jobs per chat.

Both are per process on purpose: they protect the gateway key from bursts, and a
restart forgetting a minute of history does no harm.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

_SWEEP_EVERY = 1000  # hits between sweeps of idle users, so the table does not grow forever


@dataclass(frozen=True)
class Throttled:
    retry_after: float
    # The first refusal in this burst gets a reply; the rest are ignored quietly.
    first: bool


class RateLimiter:
    """At most `limit` hits per `window` seconds per key (a sliding window)."""

    def __init__(self, limit: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = limit
        self._window = window
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._told_until: dict[str, float] = {}
        self._since_sweep = 0

    def hit(self, key: str) -> Throttled | None:
        """Count one request; None when allowed, else how long to wait."""
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


class SlotsFull(Exception):
    pass


class JobSlots:
    """At most `limit` jobs at once per key (0: no limit); a full key refuses, never queues."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._running: dict[str, int] = {}

    def running(self, key: str) -> int:
        return self._running.get(key, 0)

    @contextmanager
    def take(self, key: str) -> Iterator[None]:
        if self._limit > 0 and self.running(key) >= self._limit:
            raise SlotsFull(key)
        self._running[key] = self.running(key) + 1
        try:
            yield
        finally:
            left = self._running[key] - 1
            if left:
                self._running[key] = left
            else:
                del self._running[key]

"""Rate limits, job slots and locks in Redis: atomic, and off the database's hot path.

Counters are sorted sets scored by time, trimmed and counted in one Lua script (redis-py's
`register_script`), so replicas checking at the same moment cannot both pass. Locks are
redis-py's own `Lock`. Every key carries a TTL: nothing outlives its use for long.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis

from bot.admission.ratelimit import SlotsFull, Throttled

# KEYS[1] the sorted set; ARGV: now, window start, limit, member, ttl (ms).
# Returns 0 when the member was added, else the score of the oldest entry still counting.
_TAKE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  return 0
end
return redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2]
"""


class RedisRateLimiter:
    """At most `limit` hits per `window` seconds per key (a sliding window, shared by replicas)."""

    def __init__(
        self, client: aioredis.Redis, limit: int, window: float = 60.0, prefix: str = "wenwen"
    ) -> None:
        self._client = client
        self._limit = limit
        self._window = window
        self._prefix = prefix
        self._take = client.register_script(_TAKE)

    async def hit(self, key: str) -> Throttled | None:
        if self._limit <= 0:
            return None
        now = time.time()
        name = f"{self._prefix}:rate:{key}"
        oldest = await self._take(
            keys=[name],
            args=[
                now,
                now - self._window,
                self._limit,
                f"{now}:{uuid.uuid4().hex}",
                int(self._window * 1000),
            ],
        )
        if not oldest:
            return None
        free_at = float(oldest) + self._window
        # One "slow down" per burst, for every replica: the first to set the note tells.
        first = bool(
            await self._client.set(f"{name}:told", "1", px=max(int((free_at - now) * 1000), 1), nx=True)
        )
        return Throttled(retry_after=max(free_at - now, 0.0), first=first)


class RedisSlots:
    """At most `limit` jobs at once per key; a holder that never says it finished lapses after `ttl`."""

    def __init__(self, client: aioredis.Redis, limit: int, ttl: float, prefix: str = "wenwen") -> None:
        self._client = client
        self._limit = limit
        self._ttl = ttl
        self._prefix = prefix
        self._take = client.register_script(_TAKE)

    @asynccontextmanager
    async def take(self, key: str) -> AsyncIterator[None]:
        if self._limit <= 0:
            yield
            return
        name = f"{self._prefix}:slots:{key}"
        member = uuid.uuid4().hex
        now = time.time()
        # Scored by when the hold lapses: the window start is "now", so lapsed holders drop out.
        taken = await self._take(
            keys=[name], args=[now + self._ttl, now, self._limit, member, int(self._ttl * 1000)]
        )
        if taken:
            raise SlotsFull(int(await self._client.zcard(name)))
        try:
            yield
        finally:
            await self._client.zrem(name, member)


class RedisLocks:
    """redis-py's Lock, with a timeout so a crashed holder cannot block a chat for long."""

    def __init__(self, client: aioredis.Redis, timeout: float, prefix: str = "wenwen") -> None:
        self._client = client
        self._timeout = timeout
        self._prefix = prefix

    @asynccontextmanager
    async def lock(self, name: str) -> AsyncIterator[None]:
        async with self._client.lock(
            f"{self._prefix}:lock:{name}", timeout=self._timeout, blocking_timeout=None
        ):
            yield

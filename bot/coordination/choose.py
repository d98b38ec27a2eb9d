"""Where the shared limits live: Redis when REDIS_URL is set, the database on PostgreSQL, else memory."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.admission.ratelimit import Locks, MemoryLocks, MemoryRateLimiter, MemorySlots, RateLimiter, Slots
from bot.config import Settings
from bot.coordination.database import DatabaseRateLimiter, DatabaseSlots, PostgresLocks
from bot.lifecycle.instance import Instance
from storage import Database

if TYPE_CHECKING:  # redis-py is imported only when REDIS_URL is set
    import redis.asyncio as aioredis


@dataclass(frozen=True)
class Shared:
    rate: RateLimiter
    image_slots: Slots
    locks: Locks
    where: str  # said once at start-up


def shared_state(
    settings: Settings, db: Database, instance: Instance, redis: aioredis.Redis | None
) -> Shared:
    # The longest a job or a Midjourney submission may hold a slot or a lock if its holder dies
    # without a word (Redis has no owner to ask): the calls' own timeouts, with room to spare.
    job_ttl = settings.image_timeout + 60
    lock_ttl = settings.mj_timeout * settings.mj_busy_attempts + 120
    if redis is not None:
        from bot.coordination.redis import RedisLocks, RedisRateLimiter, RedisSlots

        prefix = settings.redis_prefix.rstrip(":")
        return Shared(
            RedisRateLimiter(redis, settings.rate_limit_per_minute, prefix=prefix),
            RedisSlots(redis, settings.image_jobs_per_chat, ttl=job_ttl, prefix=prefix),
            RedisLocks(redis, timeout=lock_ttl, prefix=prefix),
            "Redis",
        )
    if db.engine.dialect.name == "postgresql":
        return Shared(
            DatabaseRateLimiter(db, settings.rate_limit_per_minute),
            DatabaseSlots(db, instance, settings.image_jobs_per_chat),
            PostgresLocks(db),
            "PostgreSQL",
        )
    # SQLite: one process on one machine, so this process's memory is the truth.
    return Shared(
        MemoryRateLimiter(settings.rate_limit_per_minute),
        MemorySlots(settings.image_jobs_per_chat),
        MemoryLocks(),
        "this process (SQLite)",
    )

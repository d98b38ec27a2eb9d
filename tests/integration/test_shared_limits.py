"""The shared limits, one contract for every place they can live.

Each case builds two "replicas" of the same kind over one backend (this process's memory,
the database under test, or the real Redis) and checks that they count, refuse and lock
as one. Memory is the SQLite setup: one process, so both replicas share one object.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass

import pytest
import redis.asyncio as aioredis

from bot.admission.ratelimit import (
    Locks,
    MemoryLocks,
    MemoryRateLimiter,
    MemorySlots,
    RateLimiter,
    Slots,
    SlotsFull,
)
from bot.coordination.database import DatabaseRateLimiter, DatabaseSlots, PostgresLocks
from bot.coordination.redis import RedisLocks, RedisRateLimiter, RedisSlots
from bot.lifecycle.instance import Instance
from storage import Database
from storage.instances import liveness_for


@dataclass
class Backend:
    """Builds one replica's limiter, slots or locks; every call is another replica."""

    name: str
    rate: Callable[[int], RateLimiter]
    slots: Callable[[int], Awaitable[Slots]]
    locks: Callable[[], Locks]


async def _memory() -> AsyncIterator[Backend]:
    rates: dict[int, MemoryRateLimiter] = {}
    slots: dict[int, MemorySlots] = {}
    locks = MemoryLocks()

    async def take_slots(limit: int) -> Slots:
        return slots.setdefault(limit, MemorySlots(limit))

    yield Backend(
        "memory", lambda limit: rates.setdefault(limit, MemoryRateLimiter(limit)), take_slots, lambda: locks
    )


async def _database(database_url: str) -> AsyncIterator[Backend]:
    async with AsyncExitStack() as stack:
        db = Database(database_url)
        stack.push_async_callback(db.dispose)
        await db.migrate()

        async def replica_slots(limit: int) -> Slots:
            instance = Instance(db, liveness_for(db.engine))
            await instance.start()
            stack.push_async_callback(instance.stop)
            return DatabaseSlots(db, instance, limit)

        yield Backend(
            "postgres", lambda limit: DatabaseRateLimiter(db, limit), replica_slots, lambda: PostgresLocks(db)
        )


async def _redis(url: str, prefix: str) -> AsyncIterator[Backend]:
    clients: list[aioredis.Redis] = []

    def client() -> aioredis.Redis:
        clients.append(aioredis.Redis.from_url(url))
        return clients[-1]

    async def replica_slots(limit: int) -> Slots:
        return RedisSlots(client(), limit, ttl=30, prefix=prefix)

    try:
        yield Backend(
            "redis",
            lambda limit: RedisRateLimiter(client(), limit, prefix=prefix),
            replica_slots,
            lambda: RedisLocks(client(), timeout=30, prefix=prefix),
        )
    finally:
        for opened in clients:
            await opened.aclose()


@pytest.fixture(params=["memory", pytest.param("postgres", marks=pytest.mark.postgres), "redis"])
async def backend(request: pytest.FixtureRequest, database_url: str) -> AsyncIterator[Backend]:
    if request.param == "memory":
        made = _memory()
    elif request.param == "postgres":
        made = _database(database_url)
    else:
        made = _redis(
            request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix").rstrip(":")
        )
    async for built in made:
        yield built


async def test_replicas_count_one_rate_and_tell_once(backend: Backend) -> None:
    one, two = backend.rate(3), backend.rate(3)
    assert [await one.hit("tg:1"), await two.hit("tg:1"), await one.hit("tg:1")] == [None, None, None]
    first, again = await two.hit("tg:1"), await one.hit("tg:1")
    assert first is not None and first.first
    assert 0 < first.retry_after <= 60
    assert again is not None and not again.first, "one 'slow down' per burst, whichever replica"
    assert await two.hit("tg:2") is None, "other users are not affected"


async def test_concurrent_hits_never_pass_more_than_the_limit(backend: Backend) -> None:
    replicas = [backend.rate(5) for _ in range(4)]
    results = await asyncio.gather(*(replicas[n % 4].hit("tg:9") for n in range(20)))
    assert sum(result is None for result in results) == 5
    assert sum(result is not None and result.first for result in results) == 1


async def test_zero_means_no_limit(backend: Backend) -> None:
    limiter = backend.rate(0)
    assert all([await limiter.hit("u") is None for _ in range(50)])
    async with (await backend.slots(0)).take("c"), (await backend.slots(0)).take("c"):
        pass


async def test_slots_are_shared_refused_when_full_and_freed(backend: Backend) -> None:
    one, two = await backend.slots(2), await backend.slots(2)
    async with one.take("chat"), two.take("chat"):
        with pytest.raises(SlotsFull) as full:
            async with one.take("chat"):
                pass
        assert full.value.running == 2
        async with two.take("other"):
            pass
    with pytest.raises(RuntimeError):
        async with two.take("chat"):
            raise RuntimeError("the job failed")
    async with one.take("chat"), two.take("chat"):
        pass


async def test_a_lock_excludes_across_replicas_and_names_are_independent(backend: Backend) -> None:
    order: list[str] = []

    async def hold(locks: Locks, name: str, label: str) -> None:
        async with locks.lock(name):
            order.append(f"{label}+")
            await asyncio.sleep(0.05)
            order.append(f"{label}-")

    await asyncio.gather(
        hold(backend.locks(), "mj:chat", "a"),
        hold(backend.locks(), "mj:chat", "b"),
        hold(backend.locks(), "mj:else", "c"),
    )
    first, second = sorted(("a", "b"), key=lambda label: order.index(f"{label}+"))
    assert order.index(f"{first}-") < order.index(f"{second}+"), order
    assert order.index("c+") < order.index(f"{second}-"), "another name does not wait"


@pytest.mark.postgres
async def test_slots_of_a_crashed_replica_are_not_counted(database_url: str) -> None:
    db = Database(database_url)
    await db.migrate()
    lock = liveness_for(db.engine)
    crashed = Instance(db, lock)
    survivor = Instance(db, liveness_for(db.engine))
    try:
        await crashed.start()
        await survivor.start()
        held = DatabaseSlots(db, crashed, 1).take("chat")
        await held.__aenter__()  # the crash comes before the job ends: nobody exits the block
        with pytest.raises(SlotsFull):
            async with DatabaseSlots(db, survivor, 1).take("chat"):
                pass
        await lock.release()  # what the server does when the process dies
        await asyncio.sleep(2.1)  # the survivor's view of who is gone is cached for 2 s
        async with DatabaseSlots(db, survivor, 1).take("chat"):
            pass
    finally:
        await survivor.stop()
        await db.dispose()


async def test_a_redis_slot_whose_holder_vanished_lapses(redis_url: str, redis_prefix: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    try:
        slots = RedisSlots(client, 1, ttl=0.5, prefix=redis_prefix.rstrip(":"))
        held = slots.take("chat")
        await held.__aenter__()  # never exited: the holder died
        with pytest.raises(SlotsFull):
            async with slots.take("chat"):
                pass
        await asyncio.sleep(0.6)
        async with slots.take("chat"):
            pass
    finally:
        await client.aclose()


async def test_a_waiter_cancelled_mid_wait_leaves_the_lock_usable(backend: Backend) -> None:
    holder, waiter, later = backend.locks(), backend.locks(), backend.locks()
    async with holder.lock("mj:chat"):

        async def wait_for_it() -> None:
            async with waiter.lock("mj:chat"):
                pass

        waiting = asyncio.create_task(wait_for_it())
        await asyncio.sleep(0.2)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
    async with asyncio.timeout(5), later.lock("mj:chat"):
        pass

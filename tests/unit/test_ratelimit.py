"""Per-user request rate and per-chat job slots (in memory, with a fake clock)."""

from __future__ import annotations

import asyncio

import pytest

from bot.admission.ratelimit import MemoryLocks, MemoryRateLimiter, MemorySlots, SlotsFull


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_allows_the_limit_then_throttles_and_tells_once() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(3, window=60, clock=clock)
    assert [await limiter.hit("tg:1") for _ in range(3)] == [None, None, None]
    clock.now += 10
    first = await limiter.hit("tg:1")
    second = await limiter.hit("tg:1")
    assert first is not None and first.first and first.retry_after == pytest.approx(50)
    assert second is not None and not second.first, "one 'slow down' per burst"
    assert await limiter.hit("tg:2") is None, "other users are not affected"


async def test_the_window_slides() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(2, window=60, clock=clock)
    await limiter.hit("u")
    clock.now += 30
    await limiter.hit("u")
    clock.now += 31  # the first hit left the window
    assert await limiter.hit("u") is None
    throttled = await limiter.hit("u")
    assert throttled is not None and throttled.first, "a new burst is told again"


async def test_zero_means_no_limit() -> None:
    limiter = MemoryRateLimiter(0)
    assert all([await limiter.hit("u") is None for _ in range(1000)])


async def test_idle_users_are_forgotten() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(5, window=60, clock=clock)
    for n in range(1500):
        await limiter.hit(f"user{n}")
    clock.now += 61
    for _ in range(1000):
        await limiter.hit("busy")
    assert len(limiter._hits) < 10


async def test_job_slots_refuse_when_full_and_free_on_exit() -> None:
    slots = MemorySlots(2)
    async with slots.take("a"), slots.take("a"):
        with pytest.raises(SlotsFull) as full:
            async with slots.take("a"):
                pass
        assert full.value.running == 2
        async with slots.take("b"):
            pass
    async with slots.take("a"), slots.take("a"):
        pass


async def test_job_slots_are_freed_when_the_job_fails() -> None:
    slots = MemorySlots(1)
    with pytest.raises(RuntimeError):
        async with slots.take("a"):
            raise RuntimeError("boom")
    async with slots.take("a"):
        pass


async def test_zero_slots_means_no_cap() -> None:
    slots = MemorySlots(0)
    async with slots.take("a"), slots.take("a"), slots.take("a"):
        pass


async def test_locks_exclude_per_name_and_are_forgotten() -> None:
    locks = MemoryLocks()
    order: list[str] = []

    async def hold(name: str, label: str) -> None:
        async with locks.lock(name):
            order.append(f"{label}+")
            await asyncio.sleep(0.01)
            order.append(f"{label}-")

    await asyncio.gather(hold("x", "a"), hold("x", "b"), hold("y", "c"))
    assert order.index("a-") < order.index("b+"), "the same name is never held twice at once"
    assert order.index("c+") < order.index("a-"), "other names do not wait"
    assert len(locks._locks) == 0

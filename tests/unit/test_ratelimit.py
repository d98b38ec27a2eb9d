"""Per-user request rate and per-chat job slots (in memory, with a fake clock)."""

from __future__ import annotations

import pytest

from bot.ratelimit import JobSlots, RateLimiter, SlotsFull


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_allows_the_limit_then_throttles_and_tells_once() -> None:
    clock = Clock()
    limiter = RateLimiter(3, window=60, clock=clock)
    assert [limiter.hit("tg:1") for _ in range(3)] == [None, None, None]
    clock.now += 10
    first = limiter.hit("tg:1")
    second = limiter.hit("tg:1")
    assert first is not None and first.first and first.retry_after == pytest.approx(50)
    assert second is not None and not second.first, "one 'slow down' per burst"
    assert limiter.hit("tg:2") is None, "other users are not affected"


def test_the_window_slides() -> None:
    clock = Clock()
    limiter = RateLimiter(2, window=60, clock=clock)
    limiter.hit("u")
    clock.now += 30
    limiter.hit("u")
    clock.now += 31  # the first hit left the window
    assert limiter.hit("u") is None
    throttled = limiter.hit("u")
    assert throttled is not None and throttled.first, "a new burst is told again"


def test_zero_means_no_limit() -> None:
    limiter = RateLimiter(0)
    assert all(limiter.hit("u") is None for _ in range(1000))


def test_idle_users_are_forgotten() -> None:
    clock = Clock()
    limiter = RateLimiter(5, window=60, clock=clock)
    for n in range(1500):
        limiter.hit(f"user{n}")
    clock.now += 61
    for _ in range(1000):
        limiter.hit("busy")
    assert len(limiter._hits) < 10


def test_job_slots_refuse_when_full_and_free_on_exit() -> None:
    slots = JobSlots(2)
    with slots.take("a"), slots.take("a"):
        assert slots.running("a") == 2
        with pytest.raises(SlotsFull), slots.take("a"):
            pass
        with slots.take("b"):
            assert slots.running("b") == 1
    assert slots.running("a") == 0


def test_job_slots_are_freed_when_the_job_fails() -> None:
    slots = JobSlots(1)
    with pytest.raises(RuntimeError), slots.take("a"):
        raise RuntimeError("boom")
    with slots.take("a"):
        pass


def test_zero_slots_means_no_cap() -> None:
    slots = JobSlots(0)
    with slots.take("a"), slots.take("a"), slots.take("a"):
        assert slots.running("a") == 3

"""`reap`: waiting for a cancelled task must not swallow the waiter's own cancellation."""

from __future__ import annotations

import asyncio

import pytest

from bot.tasks import reap


async def _slow_to_stop() -> None:
    try:
        await asyncio.sleep(3600)
    finally:
        await asyncio.shield(asyncio.sleep(0.05))  # cleans up a moment before it ends


async def test_the_cancelled_task_ends_quietly() -> None:
    task = asyncio.create_task(_slow_to_stop())
    await asyncio.sleep(0)
    task.cancel()
    await reap(task)
    assert task.cancelled()


async def test_a_waiter_cancelled_meanwhile_is_cancelled_still() -> None:
    """The shutdown hang CI found: a replay cancelled while a stream preview was being
    reaped carried on, and the app waited for it for ever."""
    inner = asyncio.create_task(_slow_to_stop())
    await asyncio.sleep(0)
    went_on = False

    async def waiter() -> None:
        nonlocal went_on
        inner.cancel()
        await reap(inner)
        went_on = True
        await asyncio.sleep(3600)

    outer = asyncio.create_task(waiter())
    await asyncio.sleep(0.01)  # the waiter is inside reap, the inner task still cleaning up
    outer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(outer, 1)
    assert not went_on

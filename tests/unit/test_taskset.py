"""`TaskSet`: work spawned as the drain cancels the rest ends closed, not "never awaited"."""

from __future__ import annotations

import asyncio
import inspect

from bot.tasks import TaskSet


async def test_work_spawned_as_the_drain_ends_is_closed_unrun() -> None:
    """A Discord newcomer answered "restarting" at the moment the grace ran out: its task was
    cancelled before it ever ran, and Python warned its coroutine was never awaited."""
    tasks = TaskSet("test")
    ran: list[str] = []

    async def work() -> None:
        ran.append("ran")

    late = work()
    task = tasks.spawn(late, "a late arrival")
    task.cancel()  # what the drain does at its deadline, here before the task's first step
    await asyncio.gather(task, return_exceptions=True)
    assert ran == [] and task.cancelled()
    assert inspect.getcoroutinestate(late) == inspect.CORO_CLOSED


async def test_work_that_ran_is_untouched() -> None:
    tasks = TaskSet("test")
    ran: list[str] = []

    async def work() -> None:
        ran.append("ran")

    done = work()
    tasks.spawn(done, "on time")
    assert await tasks.drain(1) == 0
    assert ran == ["ran"]
    assert inspect.getcoroutinestate(done) == inspect.CORO_CLOSED

"""Background work an adapter starts per update: spawned, guarded, drained on shutdown.

One `TaskSet` per platform. `spawn` runs a coroutine in its own task so a slow request
never holds up the platform's event loop; an exception that escapes is logged with what
the task was doing, never lost as "Task exception was never retrieved". `drain` lets
running work finish up to a grace period, then cancels what is left.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


def cut_off() -> bool:
    """Whether the running task is being cancelled: shutdown's drain deadline (TaskSet.drain).

    What it was doing is left to the next start (bot.lifecycle.inbound), so it must neither
    be recorded as done nor leave the chat thinking it is.
    """
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


class TaskSet:
    def __init__(self, name: str) -> None:
        self._name = name
        self._tasks: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, work: Coroutine[Any, Any, None], what: str) -> asyncio.Task[None]:
        task = asyncio.create_task(self._guard(work, what), name=f"{self._name}: {what}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        # Cancelled before it ever ran (spawned as the drain cancels the rest), the task never
        # awaits `work`: closing it says so, instead of a "coroutine was never awaited" warning.
        task.add_done_callback(lambda _: work.close())
        return task

    async def _guard(self, work: Coroutine[Any, Any, None], what: str) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s: handling %s failed", self._name, what)

    async def drain(self, grace: float) -> int:
        """Wait up to `grace` seconds for running work, then cancel the rest; how many were cancelled."""
        if self._tasks:
            log.info("%s: letting %d request(s) finish (up to %g s)", self._name, len(self._tasks), grace)
            await asyncio.wait(set(self._tasks), timeout=grace)
        left = list(self._tasks)
        for task in left:
            task.cancel()
        await asyncio.gather(*left, return_exceptions=True)
        if left:
            log.warning("%s: %d request(s) cancelled at the end of the grace period", self._name, len(left))
        return len(left)


async def reap(task: asyncio.Task[Any]) -> None:
    """Wait for a task that was just cancelled to end.

    Its cancellation is expected and not raised; the caller's own is. A bare
    `suppress(CancelledError)` around `await task` swallows both, and a caller cancelled
    at that moment (shutdown) would carry on as if it had not been.
    """
    try:
        await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise

"""Showing a growing answer at a pace the messenger tolerates, without slowing the model.

Adapters implement `TextStream` (bot.model) on top of `LiveText`: the model's text is
handed over with `update()` (never blocks, so the gateway stream is read at full speed)
and a background task shows the newest text at most once per `interval`. Intermediate
texts that were overtaken are skipped, an unchanged text is never shown twice, and a
platform's "slow down" (`Backoff`) pauses the updates instead of failing the answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.tasks import reap

log = logging.getLogger(__name__)

CURSOR = " ▌"


class Backoff(Exception):
    """Raised by a `show` callback when the platform asks to wait (flood control)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds} s")
        self.seconds = seconds


def preview(text: str, limit: int, cursor: str = "") -> str:
    """The text as it can be shown while it grows: trimmed to `limit`, with a cursor."""
    text = text.rstrip()
    if len(text) + len(cursor) > limit:
        text = text[: limit - len(cursor) - 1].rstrip() + "…"
    return text + cursor


class LiveText:
    """Shows the latest of a series of texts through `show`, throttled.

    `first_delay` holds back the first show: an answer that is complete by then is
    sent once, whole, by the owner (fewer edits count against a group's rate limit).
    """

    def __init__(
        self,
        show: Callable[[str], Awaitable[None]],
        *,
        interval: float,
        first_delay: float = 0.0,
        max_backoff: float = 30.0,
    ) -> None:
        self._show = show
        self._interval = interval
        self._first_delay = first_delay
        self._max_backoff = max_backoff
        self._latest = ""
        self._shown = ""
        self._changed = asyncio.Event()
        self._showing = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._resume_at = 0.0
        self.failed = False

    @property
    def shown(self) -> str:
        """The last text the platform accepted ("" if none)."""
        return self._shown

    def update(self, text: str) -> None:
        if self._closed or self.failed or not text.strip():
            return
        self._latest = text
        self._changed.set()
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="live-text")

    async def close(self) -> None:
        """Stop showing; waits for a show in flight, so `shown` is final afterwards.

        Also sits out what is left of a platform's "wait N seconds", so the owner's final
        update is not refused in turn.
        """
        self._closed = True
        task, self._task = self._task, None
        if task is None:
            return
        async with self._showing:
            task.cancel()
        await reap(task)
        remaining = self._resume_at - asyncio.get_running_loop().time()
        if 0 < remaining <= self._max_backoff:
            await asyncio.sleep(remaining)

    async def abandon(self) -> None:
        """Stop at once, a show in flight included: the answer will never be finished."""
        self._closed = True
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        await reap(task)

    async def _run(self) -> None:
        if self._first_delay > 0:
            await asyncio.sleep(self._first_delay)
        while not self.failed:
            await self._changed.wait()
            self._changed.clear()
            pause = self._interval
            async with self._showing:
                if self._closed:
                    return
                text = self._latest
                if text != self._shown:
                    try:
                        await self._show(text)
                        self._shown = text
                    except Backoff as exc:
                        if exc.seconds > self._max_backoff:
                            log.info("live text: told to wait %s s; showing the final text only", exc.seconds)
                            self.failed = True
                            return
                        log.info("live text: platform asks to wait %s s", exc.seconds)
                        pause = max(pause, exc.seconds)
                        self._resume_at = asyncio.get_running_loop().time() + exc.seconds
                        self._changed.set()  # the newest text is still to be shown
                    except Exception:
                        # The final answer is still delivered by the owner; only the preview stops.
                        log.warning("live text update failed; showing the final answer only", exc_info=True)
                        self.failed = True
                        return
            if pause > 0:
                await asyncio.sleep(pause)


NOTE_SECONDS = 3.0  # for the note on an answer cut off by shutdown, which is waiting for it


async def mark_cut_off(edit: Awaitable[object], where: str) -> None:
    """Edit an answer cut off by shutdown to say so: bounded, and a failure only logged (the
    next start answers in full either way)."""
    try:
        async with asyncio.timeout(NOTE_SECONDS):
            await edit
    except Exception as exc:
        log.info("could not mark a cut-off answer in %s (%s)", where, exc)

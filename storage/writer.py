"""Group commit: the hot-path writes of concurrent requests share one transaction.

Every request ends in a few small writes (storage.writes). One at a time, each would pay
for its own transaction; on SQLite, many at once also queue on the database's single
write lock, whose busy handler sleeps between attempts, which is where bursts spent
seconds. Here one task owns the writing: it takes everything queued, applies it as one
`Writes` with multi-row statements, commits once, and answers every caller. While it
commits, the next batch gathers. A caller is answered only after its writes are committed,
so crash safety is what it was with a transaction of its own.

If a batch fails (a constraint broken by one request's writes), each request's writes are
tried again alone, so one bad write fails only its own caller.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from storage.db import Database
from storage.writes import UpdateKey, Writes, Written

log = logging.getLogger(__name__)

MAX_BATCH = 500  # requests per transaction: bounded, so one commit never holds the lock for long


@dataclass
class _Pending:
    writes: Writes
    done: asyncio.Future[Written] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class Writer:
    """Owned by the app: started lazily by the first write, stopped by `close()` (which drains)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    async def write(self, writes: Writes) -> Written:
        """Commit `writes` (with whatever else is queued); raises what committing them raised."""
        # Shielded: a caller cancelled while its writes commit must not cancel the batch.
        return await asyncio.shield(self.submit(writes))

    def submit(self, writes: Writes) -> asyncio.Future[Written]:
        """Queue `writes` now (in order with what is queued); the future ends when committed."""
        pending = _Pending(writes)
        if not writes:
            pending.done.set_result(Written())
            return pending.done
        if self._closed:
            raise RuntimeError("the writer is closed")
        self._queue.put_nowait(pending)
        if self._task is None or self._task.done():  # first use, or the last one was cancelled
            self._task = asyncio.create_task(self._run(), name="group-commit")
        return pending.done

    async def flushed(self) -> None:
        """Wait until everything queued so far is committed (or failed)."""
        if self._task is None or self._task.done():
            return
        barrier = _Pending(Writes())
        self._queue.put_nowait(barrier)
        await asyncio.shield(barrier.done)

    async def close(self) -> None:
        """Commit what is queued, then stop."""
        self._closed = True
        task, self._task = self._task, None
        if task is None:
            return
        barrier = _Pending(Writes())
        self._queue.put_nowait(barrier)
        # A task that ended already (cancelled while the loop closed) never answers the barrier.
        either: list[asyncio.Future[Any]] = [barrier.done, task]
        try:
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        finally:
            # Stopped even when close() itself is cancelled while it waits. asyncio.wait, not
            # `suppress(CancelledError)` around `await task`: that would also swallow a
            # cancellation of close()'s caller arriving meanwhile (bot.tasks.reap says more).
            task.cancel()
            await asyncio.wait([task])

    async def _run(self) -> None:
        batch: list[_Pending] = []
        try:
            while True:
                batch = [await self._queue.get()]
                while len(batch) < MAX_BATCH and not self._queue.empty():
                    batch.append(self._queue.get_nowait())
                await self._commit(batch)
                batch = []
        finally:
            # Cancelled (the loop is closing): nobody may wait for ever on writes that did not
            # happen, not even code in a `finally` that no longer gets cancelled itself.
            while not self._queue.empty():
                batch.append(self._queue.get_nowait())
            for pending in batch:
                if not pending.done.done():
                    pending.done.cancel()

    async def _commit(self, batch: list[_Pending]) -> None:
        work = [p for p in batch if p.writes]
        try:
            if work:
                written = await self._apply(Writes.merged([p.writes for p in work]))
                claimed: set[UpdateKey] = set()
                for pending in work:
                    # The first request to journal an update gets it; a second copy is a redelivery.
                    mine = frozenset(
                        e.key
                        for e in pending.writes.journal
                        if e.key in written.fresh and e.key not in claimed
                    )
                    claimed |= mine
                    _settle(pending, Written(mine))
        except Exception as exc:
            if len(work) == 1:
                _settle(work[0], exc)
            else:
                log.warning("a batch of %d writes failed; writing each on its own", len(work), exc_info=True)
                for pending in work:
                    try:
                        _settle(pending, await self._apply(pending.writes))
                    except Exception as alone:
                        _settle(pending, alone)
        for pending in batch:
            _settle(pending, Written())  # barriers (no-op for the settled)

    async def _apply(self, writes: Writes) -> Written:
        async with self._db.unit_of_work() as uow:
            written = await uow.bulk.apply(writes)
            await uow.commit()
        return written


def _settle(pending: _Pending, outcome: Written | Exception) -> None:
    if pending.done.done():
        return
    if isinstance(outcome, Exception):
        pending.done.set_exception(outcome)
    else:
        pending.done.set_result(outcome)

"""The answers streaming now, which ⏹ stops — here, or at another replica.

Per process: each answer being streamed, with its asker and a stop signal. A ⏹ press that
reaches a replica which does not stream the answer (webhooks behind a balancer) is handed
over through the database (`RemoteStops`, on PostgreSQL): the press is written down, and the
replica streaming the answer — which looks for presses of its running answers twice a
second, one query for all of them, and only while some are streaming — decides it (the asker
or a chat admin may stop) and writes back what it did. Nobody answering within a few seconds
means nobody streams it any more: after a restart, or once it finished.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from storage import Database
from storage.answer_stops import StopRequest

log = logging.getLogger(__name__)

STOPPED = "stopped"
REFUSED = "refused"


@dataclass(frozen=True)
class RunningAnswer:
    key: str
    chat_key: str
    asker_id: str
    stop: asyncio.Event = field(default_factory=asyncio.Event, compare=False)

    def may_stop(self, user_id: str, is_chat_admin: bool) -> bool:
        return user_id == self.asker_id or is_chat_admin


class RemoteStops:
    """⏹ presses handed between replicas through the database."""

    def __init__(self, db: Database, *, interval: float = 0.5, wait: float = 3.0) -> None:
        self._db = db
        self.interval = interval
        self._wait = wait

    async def ask(self, stop: StopRequest) -> str | None:
        """Hand a press over; what the streaming replica did, or None when none answered."""
        async with self._db.unit_of_work() as uow:
            await uow.answer_stops.request(stop)
            await uow.commit()
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self._wait
            while loop.time() < deadline:
                await asyncio.sleep(self.interval / 2)
                async with self._db.unit_of_work() as uow:
                    outcome = await uow.answer_stops.outcome(stop.answer_key)
                if outcome is not None:
                    return outcome
            return None
        finally:
            async with self._db.unit_of_work() as uow:
                await uow.answer_stops.withdraw(stop.answer_key)
                await uow.commit()

    async def answer(self, running: dict[str, RunningAnswer]) -> None:
        """Decide the presses other replicas handed over for the answers streaming here."""
        async with self._db.unit_of_work() as uow:
            for stop in await uow.answer_stops.pending(list(running)):
                answer = running.get(stop.answer_key)
                if answer is None or answer.chat_key != stop.chat_key:
                    continue
                allowed = answer.may_stop(stop.user_id, stop.by_admin)
                if allowed:
                    log.info("answer %s stopped by %s (pressed at another replica)", answer.key, stop.user_id)
                    answer.stop.set()
                await uow.answer_stops.settle(stop.answer_key, STOPPED if allowed else REFUSED)
            await uow.commit()


class RunningAnswers:
    """Per process: the answers being streamed now, by key (and, with `remote`, presses from
    other replicas looked for while any streams)."""

    def __init__(self, remote: RemoteStops | None = None) -> None:
        self._running: dict[str, RunningAnswer] = {}
        self.remote = remote
        self._watcher: asyncio.Task[None] | None = None

    def start(self, key: str, chat_key: str, asker_id: str) -> RunningAnswer:
        answer = RunningAnswer(key, chat_key, asker_id)
        self._running[key] = answer
        if self.remote is not None and self._watcher is None:
            self._watcher = asyncio.create_task(self._watch(self.remote), name="remote-stops")
        return answer

    def end(self, answer: RunningAnswer) -> None:
        if self._running.get(answer.key) is answer:
            del self._running[answer.key]
        if not self._running and self._watcher is not None:
            self._watcher.cancel()
            self._watcher = None

    def get(self, key: str) -> RunningAnswer | None:
        return self._running.get(key)

    async def _watch(self, remote: RemoteStops) -> None:
        while True:
            await asyncio.sleep(remote.interval)
            try:
                await remote.answer(dict(self._running))
            except Exception:
                # Only presses made at other replicas wait on this; the answers go on.
                log.warning("could not look for stop presses from other replicas", exc_info=True)

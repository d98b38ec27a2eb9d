"""Unit of work: one session, one transaction, rolled back unless committed."""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Callable
from functools import cached_property
from types import TracebackType
from typing import Self, TypeVar

from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.access import AccessRepository
from storage.answer_stops import AnswerStopRepository
from storage.arrivals import ArrivalRepository
from storage.budgets import BudgetRepository
from storage.chats import ChatRepository
from storage.conversations import ConversationRepository
from storage.coordination import AlbumRepository, LeaseRepository, RateRepository, SlotRepository
from storage.embeddings import EmbeddingRepository
from storage.inbound import InboundRepository
from storage.instances import InstanceRepository
from storage.jobs import JobRepository
from storage.languages import LanguageRepository
from storage.mj_prompts import MjPromptRepository
from storage.mj_tasks import MjTaskRepository
from storage.usage import UsageRepository
from storage.writes import BulkWrites


class Gate:
    """At most `limit` units of work at once; the others wait their turn, up to `wait` seconds."""

    def __init__(self, limit: int, wait: float) -> None:
        self._slots = asyncio.Semaphore(limit)
        self._wait = wait

    async def enter(self) -> None:
        try:
            async with asyncio.timeout(self._wait):
                await self._slots.acquire()
        except TimeoutError:
            raise PoolTimeout(f"no database connection was free within {self._wait:g} s") from None

    def leave(self) -> None:
        self._slots.release()


R = TypeVar("R")


def _repository(make: Callable[[AsyncSession], R]) -> cached_property[R]:
    """A repository of a unit of work, made when first used (most use one or two)."""
    return cached_property(lambda uow: make(uow._active()))


class UnitOfWork:
    """Repositories over one AsyncSession; use once, as `async with db.unit_of_work()`.

    Nothing is written unless `commit()` is awaited. Keep it short: open it, read or
    write, commit, and leave before calling the gateway or a chat platform.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession], gate: Gate) -> None:
        self._sessions = sessions
        self._gate = gate
        self._session: AsyncSession | None = None

    async def __aenter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("a UnitOfWork can be entered only once")
        await self._gate.enter()
        self._session = self._sessions()
        return self

    arrivals = _repository(ArrivalRepository)
    chats = _repository(ChatRepository)
    usage = _repository(UsageRepository)
    conversations = _repository(ConversationRepository)
    embeddings = _repository(EmbeddingRepository)
    mj_tasks = _repository(MjTaskRepository)
    mj_prompts = _repository(MjPromptRepository)
    budgets = _repository(BudgetRepository)
    access = _repository(AccessRepository)
    instances = _repository(InstanceRepository)
    jobs = _repository(JobRepository)
    languages = _repository(LanguageRepository)
    inbound = _repository(InboundRepository)
    leases = _repository(LeaseRepository)
    albums = _repository(AlbumRepository)
    rates = _repository(RateRepository)
    slots = _repository(SlotRepository)
    answer_stops = _repository(AnswerStopRepository)
    bulk = _repository(BulkWrites)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None and not isinstance(exc, Exception) and tb is not None:
            # Cancelled mid-statement: the aborted call's frames, kept alive by this
            # traceback for as long as anyone handles the exception, hold its cursor. On
            # SQLite a cursor of an unfinished `UPDATE … RETURNING` keeps the write lock
            # (even once its connection is closed), so a `finally` that writes again, such
            # as handing back Midjourney leases at shutdown, waited out the busy timeout.
            traceback.clear_frames(tb)
        # Closing rolls back whatever was not committed and returns the connection.
        try:
            await self._active().close()
        finally:
            self._gate.leave()

    async def commit(self) -> None:
        await self._active().commit()

    async def rollback(self) -> None:
        await self._active().rollback()

    def _active(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("use the UnitOfWork inside `async with`")
        return self._session

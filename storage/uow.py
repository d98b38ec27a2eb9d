"""Unit of work: one session, one transaction, rolled back unless committed."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.access import AccessRepository
from storage.budgets import BudgetRepository
from storage.chats import ChatRepository
from storage.conversations import ConversationRepository
from storage.coordination import AlbumRepository, LeaseRepository, RateRepository, SlotRepository
from storage.embeddings import EmbeddingRepository
from storage.inbound import InboundRepository
from storage.instances import InstanceRepository
from storage.jobs import JobRepository
from storage.mj_tasks import MjTaskRepository
from storage.usage import UsageRepository


class UnitOfWork:
    """Repositories over one AsyncSession; use once, as `async with db.unit_of_work()`.

    Nothing is written unless `commit()` is awaited. Keep it short: open it, read or
    write, commit, and leave before calling the gateway or a chat platform.
    """

    chats: ChatRepository
    usage: UsageRepository
    conversations: ConversationRepository
    embeddings: EmbeddingRepository
    mj_tasks: MjTaskRepository
    budgets: BudgetRepository
    access: AccessRepository
    instances: InstanceRepository
    jobs: JobRepository
    inbound: InboundRepository
    leases: LeaseRepository
    albums: AlbumRepository
    rates: RateRepository
    slots: SlotRepository

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._session: AsyncSession | None = None

    async def __aenter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("a UnitOfWork can be entered only once")
        session = self._session = self._sessions()
        self.chats = ChatRepository(session)
        self.usage = UsageRepository(session)
        self.conversations = ConversationRepository(session)
        self.embeddings = EmbeddingRepository(session)
        self.mj_tasks = MjTaskRepository(session)
        self.budgets = BudgetRepository(session)
        self.access = AccessRepository(session)
        self.instances = InstanceRepository(session)
        self.jobs = JobRepository(session)
        self.inbound = InboundRepository(session)
        self.leases = LeaseRepository(session)
        self.albums = AlbumRepository(session)
        self.rates = RateRepository(session)
        self.slots = SlotRepository(session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Closing rolls back whatever was not committed and returns the connection.
        await self._active().close()

    async def commit(self) -> None:
        await self._active().commit()

    async def rollback(self) -> None:
        await self._active().rollback()

    def _active(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("use the UnitOfWork inside `async with`")
        return self._session

"""⏹ presses handed between replicas (bot.chat.running): asked at one, answered by another."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import dialect
from storage.tables import AnswerStopRow


@dataclass(frozen=True)
class StopRequest:
    answer_key: str
    chat_key: str
    user_id: str
    by_admin: bool


class AnswerStopRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def request(self, stop: StopRequest) -> None:
        """A press; a second press of the same answer while the first waits adds nothing."""
        await self._session.execute(
            dialect.insert(self._session, AnswerStopRow)
            .values(
                answer_key=stop.answer_key,
                chat_key=stop.chat_key,
                user_id=stop.user_id,
                by_admin=stop.by_admin,
            )
            .on_conflict_do_nothing(index_elements=["answer_key"])
        )

    async def pending(self, answer_keys: Sequence[str]) -> list[StopRequest]:
        """Unanswered presses of these answers (the ones this replica streams)."""
        if not answer_keys:
            return []
        rows = await self._session.scalars(
            select(AnswerStopRow).where(
                AnswerStopRow.answer_key.in_(answer_keys), AnswerStopRow.outcome.is_(None)
            )
        )
        return [StopRequest(r.answer_key, r.chat_key, r.user_id, r.by_admin) for r in rows]

    async def settle(self, answer_key: str, outcome: str) -> None:
        await self._session.execute(
            update(AnswerStopRow).where(AnswerStopRow.answer_key == answer_key).values(outcome=outcome),
            execution_options={"synchronize_session": False},
        )

    async def outcome(self, answer_key: str) -> str | None:
        return await self._session.scalar(
            select(AnswerStopRow.outcome).where(AnswerStopRow.answer_key == answer_key)
        )

    async def withdraw(self, answer_key: str) -> None:
        await self._session.execute(delete(AnswerStopRow).where(AnswerStopRow.answer_key == answer_key))

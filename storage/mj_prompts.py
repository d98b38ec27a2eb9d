"""Prompts asked for Midjourney tasks waiting in MODAL (custom zoom, remix).

One row per waiting task: made by whoever follows the task when it first shows MODAL,
with the question's message id once it is sent. The answer (a reply to that message on
Telegram, a dialog on Discord) is accepted once, before `expires_at`; a restart between
question and answer loses nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import dialect
from storage.clock import utc_now
from storage.records import MjPromptRequest
from storage.tables import MjPromptRow


class MjPromptRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def open(
        self, request_id: str, task_id: str, *, chat_key: str, user_id: str, action: str, expires_at: datetime
    ) -> MjPromptRequest:
        """The task's request: this new one, or the one made before (one per task)."""
        await self._session.execute(
            dialect.insert(self._session, MjPromptRow)
            .values(
                id=request_id,
                task_id=task_id,
                chat_key=chat_key,
                user_id=user_id,
                action=action,
                created_at=utc_now(),
                expires_at=expires_at,
            )
            .on_conflict_do_nothing(index_elements=["task_id"])
        )
        found = await self.for_task(task_id)
        assert found is not None  # just inserted, or there already
        return found

    async def for_task(self, task_id: str) -> MjPromptRequest | None:
        row = await self._session.scalar(
            select(MjPromptRow)
            .where(MjPromptRow.task_id == task_id)
            .execution_options(populate_existing=True)
        )
        return None if row is None else _record(row)

    async def get(self, request_id: str) -> MjPromptRequest | None:
        row = await self._session.get(MjPromptRow, request_id, populate_existing=True)
        return None if row is None else _record(row)

    async def asked_in(self, chat_key: str, message_id: str) -> MjPromptRequest | None:
        """The request whose question is this message of this chat."""
        row = await self._session.scalar(
            select(MjPromptRow).where(MjPromptRow.chat_key == chat_key, MjPromptRow.message_id == message_id)
        )
        return None if row is None else _record(row)

    async def set_message(self, request_id: str, message_id: str) -> None:
        await self._session.execute(
            update(MjPromptRow).where(MjPromptRow.id == request_id).values(message_id=message_id)
        )

    async def answer(self, request_id: str, now: datetime) -> bool:
        """Take the answer: True once, while the request is open and not expired."""
        result = await self._session.execute(
            update(MjPromptRow)
            .where(
                MjPromptRow.id == request_id,
                MjPromptRow.answered_at.is_(None),
                MjPromptRow.expires_at > now,
            )
            .values(answered_at=now)
            .returning(MjPromptRow.id)
        )
        return result.first() is not None

    async def reopen(self, request_id: str) -> None:
        """The gateway refused the answer: the question may be answered again."""
        await self._session.execute(
            update(MjPromptRow).where(MjPromptRow.id == request_id).values(answered_at=None)
        )


def _record(row: MjPromptRow) -> MjPromptRequest:
    return MjPromptRequest(
        id=row.id,
        task_id=row.task_id,
        chat_key=row.chat_key,
        user_id=row.user_id,
        action=row.action,
        message_id=row.message_id,
        created_at=row.created_at,
        expires_at=row.expires_at,
        answered_at=row.answered_at,
    )

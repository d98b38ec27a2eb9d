"""Access: admins' allow/deny decisions per chat, and who was already refused once."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import dialect
from storage.clock import utc_now
from storage.tables import AccessRefusalRow, ChatAccessRow


class AccessRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def rule(self, chat_key: str) -> bool | None:
        """True/False when an admin allowed/denied the chat; None when nobody did."""
        return await self._session.scalar(
            select(ChatAccessRow.allowed).where(ChatAccessRow.chat_key == chat_key)
        )

    async def set_rule(self, chat_key: str, allowed: bool, set_by: str) -> None:
        insert = dialect.insert(self._session, ChatAccessRow).values(
            chat_key=chat_key, allowed=allowed, set_by=set_by, updated_at=utc_now()
        )
        await self._session.execute(
            insert.on_conflict_do_update(
                index_elements=["chat_key"],
                set_={
                    "allowed": insert.excluded.allowed,
                    "set_by": insert.excluded.set_by,
                    "updated_at": insert.excluded.updated_at,
                },
            )
        )

    async def first_refusal(self, subject: str) -> bool:
        """Note that `subject` is being refused; True only the first time (tell them once)."""
        inserted = await self._session.scalar(
            dialect.insert(self._session, AccessRefusalRow)
            .values(subject=subject, refused_at=utc_now())
            .on_conflict_do_nothing(index_elements=["subject"])
            .returning(AccessRefusalRow.subject)
        )
        return inserted is not None

    async def forget_refusal(self, subject: str) -> None:
        """After a new decision the subject may be told again."""
        await self._session.execute(delete(AccessRefusalRow).where(AccessRefusalRow.subject == subject))

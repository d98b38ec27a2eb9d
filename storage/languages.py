"""`/lang` choices: a person's own language, and a chat's (set by its admins).

Subjects are "user:<platform>:<user id>" and "chat:<chat key>"; languages are stored as
the bot's catalog names ("en", "zh_Hans"). No row means "follow the platform's language".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import dialect
from storage.clock import utc_now
from storage.tables import LanguageChoiceRow


def user_subject(platform: str, user_id: str) -> str:
    return f"user:{platform}:{user_id}"


def chat_subject(chat_key: str) -> str:
    return f"chat:{chat_key}"


class LanguageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get_many(self, subjects: Iterable[str]) -> Mapping[str, str]:
        """The stored choice of each subject that has one (one query for a person and a chat)."""
        rows = await self._session.execute(
            select(LanguageChoiceRow.subject, LanguageChoiceRow.language).where(
                LanguageChoiceRow.subject.in_(list(subjects))
            )
        )
        return {subject: language for subject, language in rows}  # noqa: C416 - rows, not pairs, to mypy

    async def set(self, subject: str, language: str | None) -> None:
        """Store a choice; None forgets it (back to the platform's language)."""
        if language is None:
            await self._session.execute(delete(LanguageChoiceRow).where(LanguageChoiceRow.subject == subject))
            return
        insert = dialect.insert(self._session, LanguageChoiceRow).values(
            subject=subject, language=language, updated_at=utc_now()
        )
        await self._session.execute(
            insert.on_conflict_do_update(
                index_elements=["subject"],
                set_={"language": insert.excluded.language, "updated_at": insert.excluded.updated_at},
            )
        )

"""Chats: one row per Telegram chat, Discord channel or console, keyed by chat key."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import dialect
from storage.clock import utc_now
from storage.records import CHAT_KINDS, ChatRecord, RecordNotFound
from storage.tables import ChatRow


class ChatRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def ensure(self, key: str, platform: str, chat_id: str, kind: str, title: str) -> ChatRecord:
        """Create the chat on first sight, or bring its kind and title up to date: one statement.

        A write that starts with a read would, on SQLite, fail at once ("database is locked")
        whenever another connection wrote in between; one upsert never does.
        """
        if kind not in CHAT_KINDS:
            raise ValueError(f"chat kind must be one of {sorted(CHAT_KINDS)}, not {kind!r}")
        insert = dialect.insert(self._session, ChatRow).values(
            key=key,
            platform=platform,
            chat_id=chat_id,
            kind=kind,
            title=title,
            created_at=utc_now(),
            updated_at=utc_now(),
        )
        row = await self._session.scalar(
            insert.on_conflict_do_update(
                index_elements=["key"], set_={"kind": insert.excluded.kind, "title": insert.excluded.title}
            )
            .returning(ChatRow)
            .execution_options(populate_existing=True)
        )
        assert row is not None
        return _record(row)

    async def get(self, key: str) -> ChatRecord | None:
        row = await self._session.get(ChatRow, key)
        return None if row is None else _record(row)

    async def new_conversation(self, key: str) -> int:
        """Start a fresh conversation (earlier turns are kept but no longer recalled)."""
        # One atomic UPDATE, so concurrent bumps are never lost.
        epoch = await self._session.scalar(
            update(ChatRow)
            .where(ChatRow.key == key)
            .values(conversation_epoch=ChatRow.conversation_epoch + 1)
            .returning(ChatRow.conversation_epoch)
            .execution_options(synchronize_session="fetch")
        )
        if epoch is None:
            raise RecordNotFound(f"no chat {key!r}")
        return epoch

    async def set_system_prompt(self, key: str, text: str | None) -> None:
        await self._set(key, system_prompt=text)

    async def set_chat_model(self, key: str, model: str | None) -> None:
        await self._set(key, chat_model=model)

    async def set_voice_replies(self, key: str, enabled: bool) -> None:
        await self._set(key, voice_replies=enabled)

    async def _set(self, key: str, **values: object) -> None:
        changed = await self._session.scalar(
            update(ChatRow)
            .where(ChatRow.key == key)
            .values(updated_at=utc_now(), **values)
            .returning(ChatRow.key)
        )
        if changed is None:
            raise RecordNotFound(f"no chat {key!r}")


def _record(row: ChatRow) -> ChatRecord:
    return ChatRecord(
        key=row.key,
        platform=row.platform,
        chat_id=row.chat_id,
        kind=row.kind,
        title=row.title,
        conversation_epoch=row.conversation_epoch,
        system_prompt=row.system_prompt,
        chat_model=row.chat_model,
        voice_replies=row.voice_replies,
    )

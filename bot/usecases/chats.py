"""A chat's own settings (model, system prompt, conversation epoch), over the operator's defaults."""

from __future__ import annotations

from dataclasses import dataclass

from bot.model import ChatAddress
from bot.usecases.context import ChatSettings
from storage import ChatRecord, Database
from storage.writer import Writer
from storage.writes import SeenChat, Writes


@dataclass(frozen=True)
class Defaults:
    model: str
    system_prompt: str


class Chats:
    def __init__(self, db: Database, writer: Writer, defaults: Defaults) -> None:
        self._db = db
        self._writer = writer
        self.defaults = defaults

    async def open(self, address: ChatAddress, chat: ChatRecord | None) -> ChatSettings:
        """The chat's settings from its stored record (read with the message: storage.arrivals).

        The chat is stored on first sight (its title kept current); a known, unchanged chat
        is not written: no write for a message that changes nothing. A new or renamed chat
        is written by the shared writer (a crowd of new chats costs a few commits, not one
        each); a new one has the defaults.
        """
        kind = address.kind.value
        if chat is None or (chat.kind, chat.title) != (kind, address.title):
            seen = SeenChat(address.key, address.platform, address.chat_id, kind, address.title)
            await self._writer.write(Writes(chats=(seen,)))
            if chat is None:
                chat = ChatRecord(
                    address.key, address.platform, address.chat_id, kind, address.title, 0, None, None
                )
        return ChatSettings(
            model=chat.chat_model or self.defaults.model,
            system_prompt=chat.system_prompt or self.defaults.system_prompt,
            epoch=chat.conversation_epoch,
            voice=chat.voice_replies,
        )

    async def custom_system_prompt(self, key: str) -> str | None:
        async with self._db.unit_of_work() as uow:
            chat = await uow.chats.get(key)
        return chat.system_prompt if chat else None

    async def set_model(self, key: str, model: str) -> None:
        async with self._db.unit_of_work() as uow:
            await uow.chats.set_chat_model(key, None if model == self.defaults.model else model)
            await uow.commit()

    async def set_voice(self, key: str, enabled: bool) -> None:
        async with self._db.unit_of_work() as uow:
            await uow.chats.set_voice_replies(key, enabled)
            await uow.commit()

    async def set_system_prompt(self, key: str, text: str | None) -> None:
        async with self._db.unit_of_work() as uow:
            await uow.chats.set_system_prompt(key, text)
            await uow.commit()

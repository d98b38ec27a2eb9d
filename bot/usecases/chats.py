"""A chat's own settings (model, system prompt, conversation epoch), over the operator's defaults."""

from __future__ import annotations

from dataclasses import dataclass

from bot.model import ChatAddress
from bot.usecases.context import ChatSettings
from storage import Database


@dataclass(frozen=True)
class Defaults:
    model: str
    system_prompt: str


class Chats:
    def __init__(self, db: Database, defaults: Defaults) -> None:
        self._db = db
        self.defaults = defaults

    async def open(self, address: ChatAddress) -> ChatSettings:
        """The chat's settings; the chat is stored on first sight (its title kept current).

        A read for a chat that is known and unchanged: no write for a message that changes nothing.
        """
        async with self._db.unit_of_work() as uow:
            chat = await uow.chats.get(address.key)
        if chat is None or (chat.kind, chat.title) != (address.kind.value, address.title):
            async with self._db.unit_of_work() as uow:
                chat = await uow.chats.ensure(
                    address.key, address.platform, address.chat_id, address.kind.value, address.title
                )
                await uow.commit()
        return ChatSettings(
            model=chat.chat_model or self.defaults.model,
            system_prompt=chat.system_prompt or self.defaults.system_prompt,
            epoch=chat.conversation_epoch,
        )

    async def custom_system_prompt(self, key: str) -> str | None:
        async with self._db.unit_of_work() as uow:
            chat = await uow.chats.get(key)
        return chat.system_prompt if chat else None

    async def set_model(self, key: str, model: str) -> None:
        async with self._db.unit_of_work() as uow:
            await uow.chats.set_chat_model(key, None if model == self.defaults.model else model)
            await uow.commit()

    async def set_system_prompt(self, key: str, text: str | None) -> None:
        async with self._db.unit_of_work() as uow:
            await uow.chats.set_system_prompt(key, text)
            await uow.commit()

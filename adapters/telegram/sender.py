"""The Bot API calls that put text in one chat, shared by the outbox and its streams."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram import Bot
from aiogram.types import InlineKeyboardMarkup, Message, ReplyParameters

from bot.model import ChatAddress


@dataclass(frozen=True)
class Sender:
    """One chat (and forum topic), replying to one message."""

    bot: Bot
    address: ChatAddress
    reply_to: int | None = None

    @classmethod
    def to(cls, bot: Bot, address: ChatAddress, reply_to: str | None) -> Sender:
        return cls(bot, address, int(reply_to) if reply_to and reply_to.isdigit() else None)

    @property
    def chat_id(self) -> int:
        return int(self.address.chat_id)

    @property
    def thread_id(self) -> int | None:
        return int(self.address.thread_id) if self.address.thread_id else None

    def reply(self) -> ReplyParameters | None:
        if self.reply_to is None:
            return None
        # The user may have deleted their message meanwhile; answer anyway.
        return ReplyParameters(message_id=self.reply_to, allow_sending_without_reply=True)

    async def send(
        self,
        text: str,
        *,
        replying: bool = True,
        parse_mode: str | None = None,
        markup: InlineKeyboardMarkup | None = None,
    ) -> Message:
        return await self.bot.send_message(
            chat_id=self.chat_id,
            text=text,
            parse_mode=parse_mode,
            message_thread_id=self.thread_id,
            reply_parameters=self.reply() if replying else None,
            reply_markup=markup,
        )

    async def edit(self, message_id: int, text: str, *, markup: InlineKeyboardMarkup | None = None) -> None:
        await self.bot.edit_message_text(
            chat_id=self.chat_id, message_id=message_id, text=text, reply_markup=markup
        )

    async def draft(self, draft_id: int, text: str) -> None:
        """An animated preview in a private chat (`sendMessageDraft`): not a message, costs no edit."""
        await self.bot.send_message_draft(
            chat_id=self.chat_id, draft_id=draft_id, text=text, message_thread_id=self.thread_id
        )

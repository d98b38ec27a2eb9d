"""The Bot API calls that put text in one chat, shared by the outbox and its streams."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram import Bot
from aiogram.types import ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, Message, ReplyParameters

from bot.model import ButtonRows, ChatAddress


def keyboard(buttons: ButtonRows) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=b.label, callback_data=b.payload) for b in row] for row in buttons
        ]
    )


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
        markup: InlineKeyboardMarkup | ForceReply | None = None,
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

    async def draft(self, draft_id: int, text: str, *, can_stop: bool = False) -> None:
        """An animated preview in a private chat (`sendMessageDraft`): not a message, costs no edit.

        `can_stop`: Telegram shows its own stop button on the draft, and a press arrives as a
        `stopped_message_generation` update; the draft stays until the final message replaces it.
        """
        await self.bot.send_message_draft(
            chat_id=self.chat_id,
            draft_id=draft_id,
            text=text,
            message_thread_id=self.thread_id,
            can_stop=can_stop or None,
            keep_on_stop=can_stop or None,
        )

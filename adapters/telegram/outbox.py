"""Neutral replies → Telegram Bot API calls (aiogram)."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TypeVar

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    Message,
    ReplyParameters,
)
from aiogram.utils.chat_action import ChatActionSender

from adapters.telegram.rich import RICH_LIMIT, span_html
from bot.model import Activity, ButtonRows, ChatAddress, ChatKind, OutImage, SentMessage
from bot.rich import Rich, render_chunks
from bot.streaming import CURSOR, Backoff, LiveText, preview
from bot.text import split_text

log = logging.getLogger(__name__)

T = TypeVar("T")

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
PHOTO_LIMIT = 10 * 1024 * 1024  # sendPhoto refuses larger photos; they go as documents
MAX_WAIT = 30.0  # longest flood-control pause we sit out instead of giving up


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_for_telegram(text: str) -> list[str]:
    """Telegram's limit counts UTF-16 code units, so emoji-heavy text needs shorter chunks."""
    chunks: list[str] = []
    for limit in (TEXT_LIMIT, 3072, TEXT_LIMIT // 2):
        chunks = split_text(text, limit)
        if all(utf16_len(chunk) <= TEXT_LIMIT for chunk in chunks):
            break
    return chunks


def keyboard(buttons: ButtonRows) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=b.label, callback_data=b.payload) for b in row] for row in buttons
        ]
    )


async def with_flood_wait(call: Callable[[], Awaitable[T]]) -> T:
    """Respect Telegram's retry_after once, then let the error through."""
    try:
        return await call()
    except TelegramRetryAfter as exc:
        if exc.retry_after > MAX_WAIT:
            raise
        log.info("telegram flood control: waiting %s s", exc.retry_after)
        await asyncio.sleep(exc.retry_after)
        return await call()


def _is_not_modified(exc: TelegramBadRequest) -> bool:
    return "message is not modified" in exc.message


class TelegramOutbox:
    def __init__(
        self, bot: Bot, address: ChatAddress, reply_to: str | None, *, pacing: StreamPacing | None = None
    ) -> None:
        self._bot = bot
        self._pacing = pacing or StreamPacing()
        self._address = address
        self._chat_id = int(address.chat_id)
        self._thread_id = int(address.thread_id) if address.thread_id else None
        self._reply_to = int(reply_to) if reply_to and reply_to.isdigit() else None

    @property
    def address(self) -> ChatAddress:
        return self._address

    def _reply(self) -> ReplyParameters | None:
        if self._reply_to is None:
            return None
        # The user may have deleted their message meanwhile; answer anyway.
        return ReplyParameters(message_id=self._reply_to, allow_sending_without_reply=True)

    async def send_text(self, text: str, *, buttons: ButtonRows = ()) -> SentMessage:
        chunks = split_for_telegram(text) or ["…"]
        sent: Message | None = None
        for number, chunk in enumerate(chunks):
            last = number == len(chunks) - 1

            async def send(chunk: str = chunk, first: bool = number == 0, last: bool = last) -> Message:
                return await self._bot.send_message(
                    chat_id=self._chat_id,
                    text=chunk,
                    message_thread_id=self._thread_id,
                    reply_parameters=self._reply() if first else None,
                    reply_markup=keyboard(buttons) if last else None,
                )

            sent = await with_flood_wait(send)
        assert sent is not None
        return SentMessage(str(sent.message_id))

    async def edit_text(self, message: SentMessage, text: str, *, buttons: ButtonRows = ()) -> None:
        text = text if len(text) <= TEXT_LIMIT else text[: TEXT_LIMIT - 1] + "…"
        try:
            await with_flood_wait(
                lambda: self._bot.edit_message_text(
                    chat_id=self._chat_id,
                    message_id=int(message.message_id),
                    text=text,
                    reply_markup=keyboard(buttons),
                )
            )
        except TelegramBadRequest as exc:
            if not _is_not_modified(exc):
                raise

    async def send_images(
        self, images: Sequence[OutImage], *, caption: str = "", buttons: ButtonRows = ()
    ) -> SentMessage:
        caption = caption if len(caption) <= CAPTION_LIMIT else caption[: CAPTION_LIMIT - 1] + "…"
        if len(images) == 1:
            return await self._send_one(images[0], caption, buttons)
        try:
            media = [
                InputMediaPhoto(
                    media=BufferedInputFile(image.data, image.file_name),
                    caption=caption if number == 0 and caption else None,
                )
                for number, image in enumerate(images[:10])
            ]
            messages = await with_flood_wait(
                lambda: self._bot.send_media_group(
                    chat_id=self._chat_id,
                    media=media,  # type: ignore[arg-type]
                    message_thread_id=self._thread_id,
                    reply_parameters=self._reply(),
                )
            )
            sent = SentMessage(str(messages[0].message_id))
        except TelegramBadRequest as exc:
            log.info("album refused (%s); sending files one by one", exc.message)
            for image in images:
                sent = await self._send_document(image, "", ())
        if buttons:
            # Albums cannot carry a keyboard; the buttons follow in their own message.
            sent = await self.send_text("⬆️", buttons=buttons)
        return sent

    async def _send_one(self, image: OutImage, caption: str, buttons: ButtonRows) -> SentMessage:
        if len(image.data) <= PHOTO_LIMIT:
            try:
                message = await with_flood_wait(
                    lambda: self._bot.send_photo(
                        chat_id=self._chat_id,
                        photo=BufferedInputFile(image.data, image.file_name),
                        caption=caption or None,
                        message_thread_id=self._thread_id,
                        reply_parameters=self._reply(),
                        reply_markup=keyboard(buttons),
                    )
                )
                return SentMessage(str(message.message_id))
            except TelegramBadRequest as exc:
                # Extreme aspect ratios or sizes are refused as photos but fine as files.
                log.info("photo refused (%s); sending as a document", exc.message)
        return await self._send_document(image, caption, buttons)

    async def send_file(self, data: bytes, file_name: str, mime: str, *, caption: str = "") -> SentMessage:
        return await self._send_document(OutImage(data, file_name, mime), caption, ())

    async def send_rich(self, doc: Rich) -> SentMessage:
        """Reports as HTML, split between lines so no tag is ever cut (bot.rich)."""
        sent: Message | None = None
        for number, chunk in enumerate(render_chunks(doc, span_html, RICH_LIMIT) or ["…"]):

            async def send(chunk: str = chunk, first: bool = number == 0) -> Message:
                return await self._bot.send_message(
                    chat_id=self._chat_id,
                    text=chunk,
                    parse_mode="HTML",
                    message_thread_id=self._thread_id,
                    reply_parameters=self._reply() if first else None,
                )

            sent = await with_flood_wait(send)
        assert sent is not None
        return SentMessage(str(sent.message_id))

    async def is_chat_admin(self, user_id: str) -> bool:
        """Asked only when a command needs it (/usage export, /admin budget in groups)."""
        if self._address.kind is ChatKind.PRIVATE:
            return True
        member = await self._bot.get_chat_member(chat_id=self._chat_id, user_id=int(user_id))
        return member.status in ("creator", "administrator")

    async def _send_document(self, image: OutImage, caption: str, buttons: ButtonRows) -> SentMessage:
        message = await with_flood_wait(
            lambda: self._bot.send_document(
                chat_id=self._chat_id,
                document=BufferedInputFile(image.data, image.file_name),
                caption=caption or None,
                message_thread_id=self._thread_id,
                reply_parameters=self._reply(),
                reply_markup=keyboard(buttons),
            )
        )
        return SentMessage(str(message.message_id))

    @asynccontextmanager
    async def activity(self, kind: Activity) -> AsyncIterator[None]:
        async with ChatActionSender(
            bot=self._bot,
            chat_id=self._chat_id,
            message_thread_id=self._thread_id,
            action=kind.value,
            initial_sleep=0.0,
        ):
            yield

    def stream(self) -> TelegramStream:
        return TelegramStream(self, self._pacing)


def _preview(text: str, cursor: str = "") -> str:
    """A growing text cut to fit one message (the limit counts UTF-16 units)."""
    shown = preview(text, TEXT_LIMIT, cursor)
    if utf16_len(shown) > TEXT_LIMIT:
        shown = preview(text, TEXT_LIMIT // 2, cursor)
    return shown


@dataclass(frozen=True)
class StreamPacing:
    """How often a growing answer is shown (seconds); see TelegramStream."""

    draft_interval: float = 0.3
    edit_interval: float = 2.0
    group_first_delay: float = 1.0


class TelegramStream:
    """A growing answer: drafts in private chats, one throttled, edited message in groups.

    Private chats get `sendMessageDraft` (an animated preview that is not a message, so
    it costs no edit), then the final message. Groups get one message, created only when
    the answer takes longer than `group_first_delay` (a short answer arrives whole) and
    edited at most every `edit_interval`: Telegram allows about 20 messages a minute per
    group and edits count. Flood control pauses the preview; the final text always lands.
    """

    def __init__(self, outbox: TelegramOutbox, pacing: StreamPacing) -> None:
        self._outbox = outbox
        self._message: SentMessage | None = None
        # Any non-zero id; the same id animates one draft from text to text.
        self._draft_id = secrets.randbelow(2**31 - 2) + 1
        if outbox.address.kind is ChatKind.PRIVATE:
            self._live = LiveText(self._show_draft, interval=pacing.draft_interval)
        else:
            self._live = LiveText(
                self._show_message, interval=pacing.edit_interval, first_delay=pacing.group_first_delay
            )

    async def push(self, text_so_far: str) -> None:
        self._live.update(text_so_far)

    async def _show_draft(self, text: str) -> None:
        out = self._outbox
        try:
            await out._bot.send_message_draft(
                chat_id=out._chat_id,
                draft_id=self._draft_id,
                text=_preview(text),
                message_thread_id=out._thread_id,
            )
        except TelegramRetryAfter as exc:
            raise Backoff(exc.retry_after) from None

    async def _show_message(self, text: str) -> None:
        out = self._outbox
        shown = _preview(text, CURSOR)
        try:
            if self._message is None:
                sent = await out._bot.send_message(
                    chat_id=out._chat_id,
                    text=shown,
                    message_thread_id=out._thread_id,
                    reply_parameters=out._reply(),
                )
                self._message = SentMessage(str(sent.message_id))
            else:
                await out._bot.edit_message_text(
                    chat_id=out._chat_id, message_id=int(self._message.message_id), text=shown
                )
        except TelegramRetryAfter as exc:
            raise Backoff(exc.retry_after) from None
        except TelegramBadRequest as exc:
            if not _is_not_modified(exc):
                raise

    async def finish(self, final_text: str) -> None:
        await self._live.close()
        if self._message is None:
            if final_text.strip() or self._live.shown:
                await self._outbox.send_text(final_text)
            return
        chunks = split_for_telegram(final_text) or ["…"]
        try:
            await self._outbox.edit_text(self._message, chunks[0])
        except TelegramBadRequest as exc:
            log.info("could not finish the streamed message (%s); sending it anew", exc.message)
            await self._outbox.send_text(final_text)
            return
        for chunk in chunks[1:]:
            await self._outbox.send_text(chunk)


class TelegramMessenger:
    platform = "tg"

    def __init__(self, bot: Bot, *, pacing: StreamPacing | None = None) -> None:
        self._bot = bot
        self._pacing = pacing or StreamPacing()

    def outbox_for(self, address: ChatAddress, reply_to: str | None) -> TelegramOutbox:
        return TelegramOutbox(self._bot, address, reply_to, pacing=self._pacing)

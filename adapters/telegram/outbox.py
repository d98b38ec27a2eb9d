"""Neutral replies → Telegram Bot API calls (aiogram)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TypeVar

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramRetryAfter
from aiogram.types import (
    BufferedInputFile,
    ForceReply,
    InputMediaPhoto,
    Message,
    ReplyParameters,
)

from adapters.telegram.drafts import DraftStops, Placeholders, ReplyDraft
from adapters.telegram.limits import (
    PLACEHOLDER_LIMIT,
    TEXT_LIMIT,
    caption_and_rest,
    fit,
    is_not_modified,
    split_for_telegram,
)
from adapters.telegram.rich import RICH_LIMIT, span_html
from adapters.telegram.sender import Sender, keyboard
from adapters.telegram.stream import StreamPacing, TelegramStream
from bot.model import Activity, ButtonRows, ChatAddress, ChatKind, OutImage, SentMessage
from bot.rich import Rich, render_chunks

log = logging.getLogger(__name__)

ACTION_RENEW_SECONDS = 4.5
# A draft lasts 30 s: the "Thinking…" placeholder of a private chat is renewed before it fades.
PLACEHOLDER_RENEW_SECONDS = 25.0
# Work done sooner than this shows no "typing…" at all: one Bot API call saved per quick answer.
ACTION_FIRST_DELAY = 0.25

T = TypeVar("T")

ALBUM_LIMIT = 10  # photos per sendMediaGroup
PHOTO_LIMIT = 10 * 1024 * 1024  # sendPhoto refuses larger photos; they go as documents
MAX_WAIT = 30.0  # longest flood-control pause we sit out instead of giving up


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


class TelegramOutbox:
    def __init__(
        self,
        bot: Bot,
        address: ChatAddress,
        reply_to: str | None,
        *,
        pacing: StreamPacing | None = None,
        drafts: DraftStops | None = None,
        placeholders: Placeholders | None = None,
    ) -> None:
        self._bot = bot
        self._pacing = pacing or StreamPacing()
        self._drafts = drafts or DraftStops()
        self._placeholders = placeholders or Placeholders()
        self._sender = Sender.to(bot, address, reply_to)
        self._chat_id = self._sender.chat_id
        self._thread_id = self._sender.thread_id
        self._draft = ReplyDraft()

    @property
    def address(self) -> ChatAddress:
        return self._sender.address

    def _reply(self) -> ReplyParameters | None:
        return self._sender.reply()

    async def send_text(self, text: str, *, buttons: ButtonRows = ()) -> SentMessage:
        return await self._send_chunks(split_for_telegram(text) or ["…"], buttons=buttons)

    async def _send_chunks(
        self, chunks: Sequence[str], *, buttons: ButtonRows = (), parse_mode: str | None = None
    ) -> SentMessage:
        """One message per chunk: the first replies to the user, the last carries the buttons."""
        sent: Message | None = None
        for number, chunk in enumerate(chunks):

            async def send(
                chunk: str = chunk, first: bool = number == 0, last: bool = number == len(chunks) - 1
            ) -> Message:
                return await self._sender.send(
                    chunk,
                    replying=first,
                    parse_mode=parse_mode,
                    markup=keyboard(buttons) if last else None,
                )

            sent = await with_flood_wait(send)
        assert sent is not None
        return SentMessage(str(sent.message_id))

    async def ask_text(self, text: str, *, answer: str, placeholder: str, button: str) -> SentMessage:
        """A ForceReply question: the app opens a reply to it, and that reply is the answer
        (the core finds the question by its message id; `answer` and `button` are for buttons elsewhere)."""
        markup = ForceReply(force_reply=True, input_field_placeholder=fit(placeholder, PLACEHOLDER_LIMIT))
        sent = await with_flood_wait(lambda: self._sender.send(fit(text, TEXT_LIMIT), markup=markup))
        return SentMessage(str(sent.message_id))

    async def edit_text(self, message: SentMessage, text: str, *, buttons: ButtonRows = ()) -> None:
        text = fit(text, TEXT_LIMIT)
        try:
            await with_flood_wait(
                lambda: self._sender.edit(int(message.message_id), text, markup=keyboard(buttons))
            )
        except TelegramBadRequest as exc:
            if not is_not_modified(exc):
                raise

    async def edit_buttons(self, message: SentMessage, buttons: ButtonRows = ()) -> None:
        try:
            await with_flood_wait(
                lambda: self._bot.edit_message_reply_markup(
                    chat_id=self._chat_id, message_id=int(message.message_id), reply_markup=keyboard(buttons)
                )
            )
        except TelegramBadRequest as exc:
            if not is_not_modified(exc):
                raise

    async def send_images(
        self, images: Sequence[OutImage], *, caption: str = "", buttons: ButtonRows = ()
    ) -> SentMessage:
        caption, rest = caption_and_rest(caption)
        if len(images) == 1:
            sent = await self._send_one(images[0], caption, buttons)
            if rest:
                await self.send_text(rest)
            return sent
        sent = await self._send_album(images, caption)
        if rest or buttons:
            # Albums cannot carry a keyboard; the buttons follow in their own message.
            follow_up = await self.send_text(rest or "⬆️", buttons=buttons)
            if buttons:
                sent = follow_up
        return sent

    async def _send_album(self, images: Sequence[OutImage], caption: str) -> SentMessage:
        """Albums of up to ten, the caption on the first; the first message is returned."""
        sent: list[SentMessage] = []
        for start in range(0, len(images), ALBUM_LIMIT):
            batch = images[start : start + ALBUM_LIMIT]
            text = "" if sent else caption
            if len(batch) == 1:
                sent.append(await self._send_one(batch[0], text, ()))
            else:
                sent.append(await self._send_media_group(batch, text))
        return sent[0]

    async def _send_media_group(self, images: Sequence[OutImage], caption: str) -> SentMessage:
        media = [
            InputMediaPhoto(
                media=BufferedInputFile(image.data, image.file_name),
                caption=caption if number == 0 and caption else None,
            )
            for number, image in enumerate(images)
        ]
        try:
            messages = await with_flood_wait(
                lambda: self._bot.send_media_group(
                    chat_id=self._chat_id,
                    media=media,  # type: ignore[arg-type]
                    message_thread_id=self._thread_id,
                    reply_parameters=self._reply(),
                )
            )
            return SentMessage(str(messages[0].message_id))
        except TelegramBadRequest as exc:
            log.info("album refused (%s); sending files one by one", exc.message)
            documents = [
                await self._send_document(image, caption if number == 0 else "", ())
                for number, image in enumerate(images)
            ]
            return documents[0]

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
        caption, rest = caption_and_rest(caption)
        sent = await self._send_document(OutImage(data, file_name, mime), caption, ())
        if rest:
            await self.send_text(rest)
        return sent

    async def send_voice(self, data: bytes, file_name: str, mime: str) -> SentMessage:
        """A voice message (Ogg/Opus); other audio goes as a plain audio file."""
        voice = BufferedInputFile(data, file_name)
        if mime in ("audio/ogg", "audio/opus"):
            message = await with_flood_wait(
                lambda: self._bot.send_voice(
                    chat_id=self._chat_id,
                    voice=voice,
                    message_thread_id=self._thread_id,
                    reply_parameters=self._reply(),
                )
            )
        else:
            message = await with_flood_wait(
                lambda: self._bot.send_audio(
                    chat_id=self._chat_id,
                    audio=voice,
                    message_thread_id=self._thread_id,
                    reply_parameters=self._reply(),
                )
            )
        return SentMessage(str(message.message_id))

    async def send_rich(self, doc: Rich) -> SentMessage:
        """Reports as HTML, split between lines so no tag is ever cut (bot.rich)."""
        return await self._send_chunks(render_chunks(doc, span_html, RICH_LIMIT) or ["…"], parse_mode="HTML")

    async def is_chat_admin(self, user_id: str) -> bool:
        """Asked only when a command needs it (/usage export, /admin budget in groups)."""
        if self.address.kind is ChatKind.PRIVATE:
            return True
        if not user_id.isdecimal():
            return False  # a channel speaking in the group (translate.sender_of) is nobody's admin
        member = await with_flood_wait(
            lambda: self._bot.get_chat_member(chat_id=self._chat_id, user_id=int(user_id))
        )
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
        """Keep "typing…" / "sending photo…" visible while the work inside runs.

        Typing in a private chat is Telegram's "Thinking…" placeholder instead: an empty
        draft, which lasts 30 s rather than the 5 s of a chat action (one Bot API call per
        answer instead of one every 4.5 s) and turns into the streamed text in place.

        Not aiogram's ChatActionSender: one failed sendChatAction (flood control, a user who
        blocked the bot) kills its worker and leaves the exception unretrieved. The
        indicator is a courtesy, so failures here are logged once and never reach the work.
        """
        private = self.address.kind is ChatKind.PRIVATE
        if kind is Activity.TYPING and private and self._placeholders.allowed:
            shown = self._show_placeholder()
        else:
            shown = self._show_activity(kind.value)
        task = asyncio.create_task(shown)
        try:
            yield
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _show_placeholder(self) -> None:
        await asyncio.sleep(ACTION_FIRST_DELAY)
        while not self._draft.streaming:
            try:
                await self._sender.draft(self._draft.id, "")
            except TelegramBadRequest as exc:
                log.info("no draft placeholder in %s (%s): typing instead", self._chat_id, exc.message)
                self._placeholders.refused()
                await self._show_activity(Activity.TYPING.value, first_delay=0.0)
                return
            except TelegramAPIError as exc:
                log.info("draft placeholder in %s stopped: %s", self._chat_id, exc.message)
                return
            await asyncio.sleep(PLACEHOLDER_RENEW_SECONDS)

    async def _show_activity(self, action: str, first_delay: float = ACTION_FIRST_DELAY) -> None:
        await asyncio.sleep(first_delay)
        while True:
            try:
                await self._bot.send_chat_action(
                    chat_id=self._chat_id, action=action, message_thread_id=self._thread_id
                )
            except TelegramAPIError as exc:
                log.info("chat action in %s stopped: %s", self._chat_id, exc.message)
                return
            # Telegram shows an action for about 5 s; renew it just before it fades.
            await asyncio.sleep(ACTION_RENEW_SECONDS)

    def stream(self, buttons: ButtonRows = ()) -> TelegramStream:
        return TelegramStream(
            self._sender,
            self._pacing,
            self.send_text,
            self.edit_text,
            buttons=buttons,
            drafts=self._drafts,
            draft=self._draft,
        )


class TelegramMessenger:
    platform = "tg"

    def __init__(self, bot: Bot, *, pacing: StreamPacing | None = None) -> None:
        self._bot = bot
        self._pacing = pacing or StreamPacing()
        self.drafts = DraftStops()
        self._placeholders = Placeholders()

    def outbox_for(self, address: ChatAddress, reply_to: str | None) -> TelegramOutbox:
        return TelegramOutbox(
            self._bot,
            address,
            reply_to,
            pacing=self._pacing,
            drafts=self.drafts,
            placeholders=self._placeholders,
        )

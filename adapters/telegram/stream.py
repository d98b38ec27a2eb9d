"""A growing answer on Telegram: drafts in private chats, one edited message in groups."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter

from adapters.telegram.limits import TEXT_LIMIT, is_not_modified, split_for_telegram, utf16_len
from adapters.telegram.sender import Sender
from bot.model import ChatKind, SentMessage
from bot.streaming import CURSOR, Backoff, LiveText, preview

SendText = Callable[[str], Awaitable[SentMessage]]
EditText = Callable[[SentMessage, str], Awaitable[None]]

log = logging.getLogger(__name__)


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

    def __init__(
        self, sender: Sender, pacing: StreamPacing, send_text: SendText, edit_text: EditText
    ) -> None:
        """`send_text` / `edit_text`: the outbox's own, which split long texts and respect flood control."""
        self._sender = sender
        self._send_text = send_text
        self._edit_text = edit_text
        self._message: SentMessage | None = None
        # Any non-zero id; the same id animates one draft from text to text.
        self._draft_id = secrets.randbelow(2**31 - 2) + 1
        if sender.address.kind is ChatKind.PRIVATE:
            self._live = LiveText(self._show_draft, interval=pacing.draft_interval)
        else:
            self._live = LiveText(
                self._show_message, interval=pacing.edit_interval, first_delay=pacing.group_first_delay
            )

    async def push(self, text_so_far: str) -> None:
        self._live.update(text_so_far)

    async def _show_draft(self, text: str) -> None:
        try:
            await self._sender.draft(self._draft_id, _preview(text))
        except TelegramRetryAfter as exc:
            raise Backoff(exc.retry_after) from None

    async def _show_message(self, text: str) -> None:
        shown = _preview(text, CURSOR)
        try:
            if self._message is None:
                sent = await self._sender.send(shown)
                self._message = SentMessage(str(sent.message_id))
            else:
                await self._sender.edit(int(self._message.message_id), shown)
        except TelegramRetryAfter as exc:
            raise Backoff(exc.retry_after) from None
        except TelegramBadRequest as exc:
            if not is_not_modified(exc):
                raise

    async def abandon(self) -> None:
        await self._live.abandon()

    async def finish(self, final_text: str) -> None:
        await self._live.close()
        if self._message is None:
            if final_text.strip() or self._live.shown:
                await self._send_text(final_text)
            return
        chunks = split_for_telegram(final_text) or ["…"]
        try:
            await self._edit_text(self._message, chunks[0])
        except TelegramBadRequest as exc:
            log.info("could not finish the streamed message (%s); sending it anew", exc.message)
            await self._send_text(final_text)
            return
        for chunk in chunks[1:]:
            await self._send_text(chunk)

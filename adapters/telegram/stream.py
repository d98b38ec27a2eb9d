"""A growing answer on Telegram: drafts in private chats, one edited message in groups."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter

from adapters.telegram.limits import TEXT_LIMIT, is_not_modified, split_for_telegram, utf16_len
from bot.model import ChatKind, SentMessage
from bot.streaming import CURSOR, Backoff, LiveText, preview

if TYPE_CHECKING:
    from adapters.telegram.outbox import TelegramOutbox

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
            if not is_not_modified(exc):
                raise

    async def abandon(self) -> None:
        await self._live.abandon()

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

"""A growing answer on Telegram: drafts in private chats, one edited message in groups."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter

from adapters.telegram.drafts import DraftStops, ReplyDraft
from adapters.telegram.limits import TEXT_LIMIT, is_not_modified, split_for_telegram, utf16_len
from adapters.telegram.sender import Sender, keyboard
from bot.model import ButtonRows, ChatKind, SentMessage
from bot.streaming import CURSOR, Backoff, LiveText, mark_cut_off, preview


class SendText(Protocol):
    async def __call__(self, text: str, *, buttons: ButtonRows = ()) -> SentMessage: ...


class EditText(Protocol):
    async def __call__(self, message: SentMessage, text: str, *, buttons: ButtonRows = ()) -> None: ...


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
    draft_first_delay: float = 0.05
    edit_interval: float = 2.0
    group_first_delay: float = 1.0


class TelegramStream:
    """A growing answer: drafts in private chats, one throttled, edited message in groups.

    Private chats get `sendMessageDraft` (an animated preview that is not a message, so
    it costs no edit) from `draft_first_delay` after the first token, then the final
    message; an answer complete by then is sent once. Groups get one message, created only when
    the answer takes longer than `group_first_delay` (a short answer arrives whole) and
    edited at most every `edit_interval`: Telegram allows about 20 messages a minute per
    group and edits count. Flood control pauses the preview; the final text always lands.
    """

    def __init__(
        self,
        sender: Sender,
        pacing: StreamPacing,
        send_text: SendText,
        edit_text: EditText,
        *,
        buttons: ButtonRows = (),
        drafts: DraftStops | None = None,
        draft: ReplyDraft | None = None,
    ) -> None:
        """`send_text` / `edit_text`: the outbox's own, which split long texts and respect flood control.

        `buttons`: those of the growing message (every edit repeats them: an edit without a
        keyboard removes it).
        """
        self._sender = sender
        self._markup = keyboard(buttons)
        self._drafts = drafts
        stop = next((b.payload for row in buttons for b in row if b.stops_stream), None)
        self._stoppable = stop is not None and drafts is not None
        self._send_text = send_text
        self._edit_text = edit_text
        self._message: SentMessage | None = None
        self._finished = False
        # The reply's draft (its "Thinking…" placeholder animates into the text), or one of its own.
        self._draft = draft or ReplyDraft()
        self._draft_id = self._draft.id
        if sender.address.kind is ChatKind.PRIVATE:
            if drafts is not None and stop is not None:
                drafts.add(sender.chat_id, self._draft_id, stop)
            self._live = LiveText(
                self._show_draft, interval=pacing.draft_interval, first_delay=pacing.draft_first_delay
            )
        else:
            self._live = LiveText(
                self._show_message, interval=pacing.edit_interval, first_delay=pacing.group_first_delay
            )

    async def push(self, text_so_far: str) -> None:
        self._live.update(text_so_far)

    async def _show_draft(self, text: str) -> None:
        self._draft.streaming = True
        try:
            await self._sender.draft(self._draft_id, _preview(text), can_stop=self._stoppable)
        except TelegramRetryAfter as exc:
            raise Backoff(exc.retry_after) from None

    async def _show_message(self, text: str) -> None:
        shown = _preview(text, CURSOR)
        try:
            if self._message is None:
                sent = await self._sender.send(shown, markup=self._markup)
                self._message = SentMessage(str(sent.message_id))
            else:
                await self._sender.edit(int(self._message.message_id), shown, markup=self._markup)
        except TelegramRetryAfter as exc:
            raise Backoff(exc.retry_after) from None
        except TelegramBadRequest as exc:
            if not is_not_modified(exc):
                raise

    async def abandon(self, note: str = "") -> None:
        self._forget_draft()
        try:
            await self._live.abandon()  # raises the caller's cancellation, if it is being cancelled
        finally:
            # A draft vanishes by itself; a group's message keeps what it shows. A finished
            # answer is left as it is.
            if note and self._message is not None and self._live.shown and not self._finished:
                text = _preview(self._live.shown, f"\n\n{note}")
                edit = self._sender.edit(int(self._message.message_id), text)
                await mark_cut_off(edit, self._sender.address.key)

    def _forget_draft(self) -> None:
        if self._drafts is not None:
            self._drafts.remove(self._sender.chat_id, self._draft_id)

    async def finish(self, final_text: str, *, buttons: ButtonRows = ()) -> None:
        """The final text; `buttons` go on its last message (the growing message's own go)."""
        self._finished = True
        self._forget_draft()
        await self._live.close()
        if self._message is None:
            if final_text.strip() or self._live.shown:
                await self._send_text(final_text, buttons=buttons)
            return
        chunks = split_for_telegram(final_text) or ["…"]
        try:
            await self._edit_text(self._message, chunks[0], buttons=buttons if len(chunks) == 1 else ())
        except TelegramBadRequest as exc:
            log.info("could not finish the streamed message (%s); sending it anew", exc.message)
            await self._send_text(final_text, buttons=buttons)
            return
        for number, chunk in enumerate(chunks[1:], 2):
            await self._send_text(chunk, buttons=buttons if number == len(chunks) else ())

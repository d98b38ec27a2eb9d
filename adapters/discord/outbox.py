"""Neutral replies → Discord messages in one channel.

Everything goes out as an ordinary channel message (a reply to the user's message when
there is one), so any message can later be edited with nothing but its channel id and
message id — which is all the Midjourney tracker has after a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import discord

from bot.i18n import Catalog, Say, Tr, t
from bot.imaging import fit_under
from bot.model import Activity, Button, ButtonRows, ChatAddress, OutImage, SentMessage
from bot.rich import Rich, Span, Style, render_chunks
from bot.streaming import CURSOR, Backoff, LiveText, mark_cut_off, preview
from bot.text import split_text

from .views import build_view

log = logging.getLogger(__name__)

MESSAGE_LIMIT = 2000
FILES_PER_MESSAGE = 10
INTERACTION_TOKEN_LIFETIME = 14 * 60.0  # Discord's 15 minutes, less a margin
TYPING_REFRESH = 8.0  # Discord shows "typing…" for about 10 s per trigger
# Never ping anyone from model output; a reply may notify the person it answers.
NO_PINGS = discord.AllowedMentions(everyone=False, users=False, roles=False, replied_user=True)
_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif"}


@dataclass(frozen=True)
class ChannelLink:
    """What an outbox needs from the running client, kept narrow for tests and restarts."""

    channel: Callable[[int], discord.PartialMessageable]
    upload_limit: Callable[[int], int]
    ready: Callable[[], Awaitable[None]]
    # Every Discord API error an outbox meets, by HTTP status (the replica's metrics).
    count_error: Callable[[int], None] = lambda _status: None


@dataclass(frozen=True)
class StreamPacing:
    """How a growing answer is shown on Discord (seconds); see `DiscordStream`.

    Discord limits edits per channel (a handful every few seconds), shared by every answer
    being written there: one edit every 1.5 s leaves room for a second answer at once.
    """

    interval: float = 1.5
    first_delay: float = 1.0


# No catalog: notes in English (the msgids) where the reader is unknown.
EMPTY_CATALOG = Catalog({})


class DiscordOutbox:
    def __init__(
        self,
        link: ChannelLink,
        address: ChatAddress,
        reply_to: str | None = None,
        *,
        interaction: discord.Interaction | None = None,
        pacing: StreamPacing | None = None,
        tr: Tr | None = None,
    ) -> None:
        """`tr`: the language of this outbox's own notes (a file too large…); English if unknown."""
        self._link = link
        self._tr = tr or Tr(EMPTY_CATALOG)
        self._address = address
        self._channel_id = int(address.chat_id)
        self._reply_to = int(reply_to) if reply_to and reply_to.isdigit() else None
        # Slash commands and buttons work where the bot may not post; then answer through them.
        self._interaction = interaction
        self._pacing = pacing or StreamPacing()

    @property
    def address(self) -> ChatAddress:
        return self._address

    async def _channel(self) -> discord.PartialMessageable:
        await self._link.ready()
        return self._link.channel(self._channel_id)

    def _reference(self) -> discord.MessageReference | None:
        if self._reply_to is None:
            return None
        # The user may have deleted their message meanwhile; answer anyway.
        return discord.MessageReference(
            message_id=self._reply_to, channel_id=self._channel_id, fail_if_not_exists=False
        )

    async def send_text(self, text: str, *, buttons: ButtonRows = ()) -> SentMessage:
        channel = await self._channel()
        chunks = split_text(text, MESSAGE_LIMIT) or ["…"]
        sent: discord.Message | None = None
        for number, chunk in enumerate(chunks):
            last = number == len(chunks) - 1
            sent = await self._post(channel, chunk, first=number == 0, buttons=buttons if last else ())
        assert sent is not None
        return SentMessage(str(sent.id))

    async def ask_text(self, text: str, *, answer: str, placeholder: str, button: str) -> SentMessage:
        """The question with a button that opens a dialog for the answer (see `views.prompt_dialog`)."""
        return await self.send_text(text, buttons=[[Button(button, answer)]])

    async def _post(
        self,
        channel: discord.PartialMessageable,
        content: str | None,
        *,
        first: bool,
        buttons: ButtonRows = (),
        files: Sequence[tuple[str, bytes]] = (),
    ) -> discord.Message:
        """One message; only the first of a series is a reply, only the last has buttons."""
        try:
            return await self._post_once(channel, content, first=first, buttons=buttons, files=files)
        except discord.HTTPException as exc:
            self._link.count_error(exc.status)
            raise

    async def _post_once(
        self,
        channel: discord.PartialMessageable,
        content: str | None,
        *,
        first: bool,
        buttons: ButtonRows,
        files: Sequence[tuple[str, bytes]],
    ) -> discord.Message:
        extra: dict[str, Any] = {}
        view = build_view(buttons)
        if view is not None:
            extra["view"] = view
        if files:
            extra["files"] = _files(files)
        reference = self._reference() if first else None
        try:
            if reference is not None:
                extra["reference"] = reference
            return await channel.send(content, allowed_mentions=NO_PINGS, **extra)
        except discord.Forbidden:
            if self._interaction is None or not _token_alive(self._interaction):
                raise
            log.info("no permission to post in %s; answering through the interaction", self._address.key)
        extra.pop("reference", None)
        if files:
            extra["files"] = _files(files)
        if content:
            extra["content"] = content
        return await self._interaction.followup.send(wait=True, allowed_mentions=NO_PINGS, **extra)

    async def _continue(self, chunks: Sequence[str], *, buttons: ButtonRows = ()) -> None:
        """The rest of a text whose first part is already shown: plain messages, not replies."""
        if not chunks:
            return
        channel = await self._channel()
        for number, chunk in enumerate(chunks, 1):
            await self._post(channel, chunk, first=False, buttons=buttons if number == len(chunks) else ())

    async def send_rich(self, doc: Rich) -> SentMessage:
        """A report in Discord markdown, split between lines (never inside a style)."""
        channel = await self._channel()
        chunks = render_chunks(doc, markdown, MESSAGE_LIMIT) or ["…"]
        sent: discord.Message | None = None
        for number, chunk in enumerate(chunks):
            sent = await self._post(channel, chunk, first=number == 0)
        assert sent is not None
        return SentMessage(str(sent.id))

    async def edit_text(self, message: SentMessage, text: str, *, buttons: ButtonRows = ()) -> None:
        try:
            await self._edit_text(message, text, buttons)
        except discord.HTTPException as exc:
            self._link.count_error(exc.status)
            raise

    async def _edit_text(self, message: SentMessage, text: str, buttons: ButtonRows) -> None:
        channel = await self._channel()
        chunks = split_text(text, MESSAGE_LIMIT) or ["…"]
        # One message only; cut where a code block is closed properly, with room for " …".
        content = chunks[0] if len(chunks) == 1 else split_text(text, MESSAGE_LIMIT - 2)[0] + " …"
        try:
            await channel.get_partial_message(int(message.message_id)).edit(
                content=content, view=build_view(buttons), allowed_mentions=NO_PINGS
            )
        except (discord.Forbidden, discord.NotFound):
            if self._interaction is None or not _token_alive(self._interaction):
                raise
            await self._interaction.followup.edit_message(
                int(message.message_id), content=content, view=build_view(buttons), allowed_mentions=NO_PINGS
            )

    async def edit_buttons(self, message: SentMessage, buttons: ButtonRows = ()) -> None:
        channel = await self._channel()
        try:
            await channel.get_partial_message(int(message.message_id)).edit(view=build_view(buttons))
        except discord.HTTPException as exc:
            self._link.count_error(exc.status)
            raise

    async def send_images(
        self, images: Sequence[OutImage], *, caption: str = "", buttons: ButtonRows = ()
    ) -> SentMessage:
        channel = await self._channel()
        limit = self._link.upload_limit(self._channel_id)
        for _attempt in range(4):
            fitted, refused = await _fit_all(images, limit)
            note = self._tr(_refusal_note(refused, len(images), limit))
            if not fitted:
                return await self.send_text("\n".join(filter(None, [caption, note])), buttons=buttons)
            try:
                return await self._send_files(
                    channel, fitted, "\n".join(filter(None, [caption, note])), buttons, limit
                )
            except discord.HTTPException as exc:
                if exc.status != 413:
                    raise
                # The server knows a lower limit than the guild's boost level suggests.
                limit = max(1024, max(len(data) for _, data in fitted) // 2)
                log.info(
                    "upload refused as too large in %s; retrying under %d bytes", self._address.key, limit
                )
        note = self._tr(_refusal_note(list(range(1, len(images) + 1)), len(images), limit))
        return await self.send_text("\n".join(filter(None, [caption, note])), buttons=buttons)

    async def send_file(self, data: bytes, file_name: str, mime: str, *, caption: str = "") -> SentMessage:
        """A document goes out byte for byte, or not at all (with a note saying why)."""
        channel = await self._channel()
        limit = self._link.upload_limit(self._channel_id)
        captions = split_text(caption, MESSAGE_LIMIT) if caption else []
        if len(data) <= limit:
            try:
                sent = await self._post(
                    channel, captions[0] if captions else None, first=True, files=[(file_name, data)]
                )
                for chunk in captions[1:]:
                    sent = await self._post(channel, chunk, first=False)
                return SentMessage(str(sent.id))
            except discord.HTTPException as exc:
                if exc.status != 413:
                    raise
        note = self._tr(
            t(
                "⚠️ {file} is {size}, too large to send here (limit {limit}).",
                file=file_name,
                size=_size(len(data)),
                limit=_size(limit),
            )
        )
        return await self.send_text("\n".join(filter(None, [caption, note])))

    async def send_voice(self, data: bytes, file_name: str, mime: str) -> SentMessage:
        """An audio file attachment (Discord players show it inline)."""
        return await self.send_file(data, file_name, mime)

    async def _send_files(
        self,
        channel: discord.PartialMessageable,
        fitted: list[tuple[str, bytes]],
        caption: str,
        buttons: ButtonRows,
        limit: int,
    ) -> SentMessage:
        batches = _batches(fitted, limit)
        captions = split_text(caption, MESSAGE_LIMIT) if caption else []
        sent: discord.Message | None = None
        for number, batch in enumerate(batches):
            last = number == len(batches) - 1 and len(captions) <= 1
            sent = await self._post(
                channel,
                captions[0] if number == 0 and captions else None,
                first=number == 0,
                buttons=buttons if last else (),
                files=batch,
            )
        for number, chunk in enumerate(captions[1:], 2):
            sent = await self._post(
                channel, chunk, first=False, buttons=buttons if number == len(captions) else ()
            )
        assert sent is not None
        return SentMessage(str(sent.id))

    @contextlib.asynccontextmanager
    async def activity(self, kind: Activity) -> AsyncIterator[None]:
        """Discord has one indicator ("typing…") for every kind of work."""
        keeper = asyncio.create_task(self._keep_typing(), name=f"typing-{self._channel_id}")
        try:
            yield
        finally:
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)

    async def _keep_typing(self) -> None:
        channel = await self._channel()
        while True:
            try:
                await channel.typing()
            except discord.HTTPException as exc:
                # A courtesy only: never let it fail the work it decorates.
                log.debug("typing indicator failed in %s: %s", self._address.key, exc.status)
            await asyncio.sleep(TYPING_REFRESH)

    def stream(self, buttons: ButtonRows = ()) -> DiscordStream:
        return DiscordStream(self, self._pacing, buttons)


class DiscordStream:
    """A growing answer: one message, created after `first_delay` and edited at most every `interval`.

    `push` only hands the text to a `LiveText` (never blocks), so the gateway's stream is
    read at full speed while the message catches up in the background. An answer complete
    within `first_delay` arrives whole, without edits. Discord's "slow down" pauses the
    preview; the final text always lands, split into messages of 2000 characters.
    """

    def __init__(self, outbox: DiscordOutbox, pacing: StreamPacing, buttons: ButtonRows = ()) -> None:
        self._outbox = outbox
        self._buttons = buttons  # on the message while it grows (every edit repeats them)
        self._message: SentMessage | None = None
        self._content = ""  # what the message shows now
        self._finished = False
        self._live = LiveText(self._show, interval=pacing.interval, first_delay=pacing.first_delay)

    async def push(self, text_so_far: str) -> None:
        self._live.update(text_so_far)

    async def _show(self, text: str) -> None:
        content = preview(text, MESSAGE_LIMIT, CURSOR)
        if content == self._content:
            return  # new text, same look (trailing spaces, or beyond what one message shows)
        try:
            if self._message is None:
                self._message = await self._outbox.send_text(content, buttons=self._buttons)
            else:
                await self._outbox.edit_text(self._message, content, buttons=self._buttons)
        except discord.RateLimited as exc:  # discord.py gave up waiting (max_ratelimit_timeout)
            raise Backoff(exc.retry_after) from None
        except discord.HTTPException as exc:
            if exc.status != 429:
                raise
            raise Backoff(_retry_after(exc)) from None
        self._content = content

    async def finish(self, final_text: str, *, buttons: ButtonRows = ()) -> None:
        """The final text; `buttons` go on its last message (the growing message's own go)."""
        self._finished = True
        await self._live.close()
        if self._message is None:
            if final_text.strip():
                await self._outbox.send_text(final_text, buttons=buttons)
            return
        chunks = split_text(final_text, MESSAGE_LIMIT) or ["…"]
        first_buttons = buttons if len(chunks) == 1 else ()
        if chunks[0] != self._content or first_buttons != self._buttons:
            try:
                await self._outbox.edit_text(self._message, chunks[0], buttons=first_buttons)
            except (discord.HTTPException, discord.RateLimited) as exc:
                log.warning(
                    "could not finish the streamed message in %s (%s); sending the answer anew",
                    self._outbox.address.key,
                    getattr(exc, "status", exc),
                )
                await self._outbox.send_text(final_text, buttons=buttons)
                return
            self._content = chunks[0]
        await self._outbox._continue(chunks[1:], buttons=buttons)

    async def abandon(self, note: str = "") -> None:
        """Stop showing an answer that will not be finished here; the message keeps what it shows."""
        try:
            await self._live.abandon()  # raises the caller's cancellation, if it is being cancelled
        finally:
            if note and self._message is not None and self._live.shown and not self._finished:
                content = preview(self._live.shown, MESSAGE_LIMIT, f"\n\n{note}")
                await mark_cut_off(self._outbox.edit_text(self._message, content), self._outbox.address.key)


def markdown(span: Span) -> str:
    """One span of a `Rich` document in Discord markdown; user text is escaped."""
    if span.style is Style.CODE:
        text = span.text.replace("`", "ˋ")  # no way to escape a backtick inside inline code
        return f"`{text}`" if text else ""
    text = discord.utils.escape_markdown(span.text)
    if not text.strip():
        return text
    if span.style is Style.BOLD:
        return f"**{text}**"
    if span.style is Style.ITALIC:
        return f"*{text}*"
    return text


def _files(files: Sequence[tuple[str, bytes]]) -> list[discord.File]:
    """Fresh `discord.File`s for each request: discord.py closes them once sent (or refused)."""
    return [discord.File(io.BytesIO(data), filename=name) for name, data in files]


def _token_alive(interaction: discord.Interaction) -> bool:
    """Follow-ups need the interaction's token: valid for 15 minutes, after an acknowledgement."""
    age = discord.utils.utcnow() - interaction.created_at
    return interaction.response.is_done() and age.total_seconds() < INTERACTION_TOKEN_LIFETIME


def _retry_after(exc: discord.HTTPException) -> float:
    """Seconds Discord asked to wait (its Retry-After header); 1 s if it did not say."""
    headers = getattr(exc.response, "headers", None) or {}
    try:
        seconds = float(headers.get("Retry-After", 0))
    except (TypeError, ValueError):
        seconds = 0.0
    return seconds if seconds > 0 else 1.0


async def _fit_all(images: Sequence[OutImage], limit: int) -> tuple[list[tuple[str, bytes]], list[int]]:
    """Re-encode what exceeds `limit` (off the event loop); numbers of images that won't fit."""
    fitted: list[tuple[str, bytes]] = []
    refused: list[int] = []
    for number, image in enumerate(images, 1):
        if len(image.data) <= limit:
            fitted.append((image.file_name, image.data))
            continue
        result = await asyncio.to_thread(fit_under, image.data, limit)
        if result is None:
            refused.append(number)
            continue
        data, mime = result
        stem = image.file_name.rsplit(".", 1)[0] or "image"
        fitted.append((f"{stem}.{_EXTENSIONS.get(mime, 'jpg')}", data))
    return fitted, refused


def _refusal_note(refused: list[int], total: int, limit: int) -> Say:
    if not refused:
        return ""
    if total == 1:
        return t(
            "⚠️ The image could not be made small enough to send here (limit {limit}).", limit=_size(limit)
        )
    if len(refused) == total:
        return t(
            "⚠️ The images could not be made small enough to send here (limit {limit}).", limit=_size(limit)
        )
    return t(
        "⚠️ Image {numbers} could not be made small enough to send here (limit {limit}).",
        numbers=", ".join(map(str, refused)),
        limit=_size(limit),
    )


def _size(n: int) -> str:
    return f"{n / 1_048_576:.1f} MB" if n >= 1_048_576 else f"{max(1, n // 1024)} KB"


def _batches(files: list[tuple[str, bytes]], limit: int) -> list[list[tuple[str, bytes]]]:
    """At most ten files per message, and together no larger than the upload limit."""
    batches: list[list[tuple[str, bytes]]] = [[]]
    size = 0
    for name, data in files:
        if batches[-1] and (len(batches[-1]) >= FILES_PER_MESSAGE or size + len(data) > limit):
            batches.append([])
            size = 0
        batches[-1].append((name, data))
        size += len(data)
    return batches

"""The platform-neutral vocabulary shared by adapters and handlers.

Adapters translate platform objects into these frozen dataclasses and back; nothing
here knows which messenger a message came from beyond the `platform` tag.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from bot.commands import Command
    from bot.rich import Rich


class ChatKind(StrEnum):
    PRIVATE = "private"
    GROUP = "group"


class Activity(StrEnum):
    """What the bot shows while it works ("typing…", "sending photo…")."""

    TYPING = "typing"
    UPLOAD_PHOTO = "upload_photo"
    RECORD_VOICE = "record_voice"


@dataclass(frozen=True)
class ChatAddress:
    """Where a conversation lives; `key` never collides across platforms."""

    platform: str
    chat_id: str
    kind: ChatKind = ChatKind.PRIVATE
    thread_id: str | None = None
    title: str = ""
    # A Discord thread's parent channel: its own chat, but the access rules of its channel.
    parent_id: str | None = None

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.chat_id}"

    @property
    def parent_key(self) -> str | None:
        return f"{self.platform}:{self.parent_id}" if self.parent_id else None


@dataclass(frozen=True)
class User:
    id: str
    name: str
    is_admin: bool = False
    # The language the person's app is set to, as the platform says it (Telegram's
    # `language_code`, Discord's interaction `locale`); None where the platform does not tell.
    language: str | None = None


@dataclass(frozen=True)
class ImageAttachment:
    """An image the user sent; bytes are fetched only when a handler needs them."""

    fetch: Callable[[], Awaitable[bytes]] = field(repr=False, compare=False)
    file_name: str = "image.jpg"
    mime_type: str = "image/jpeg"
    size: int | None = None


@dataclass(frozen=True)
class AudioAttachment:
    """A voice note or audio file; `duration` in seconds when the platform tells it."""

    fetch: Callable[[], Awaitable[bytes]] = field(repr=False, compare=False)
    file_name: str = "voice.ogg"
    mime_type: str = "audio/ogg"
    size: int | None = None
    duration: float | None = None


@dataclass(frozen=True)
class DocumentAttachment:
    """A text-like file (txt, md, csv, json, source code, PDF) sent with a question."""

    fetch: Callable[[], Awaitable[bytes]] = field(repr=False, compare=False)
    file_name: str = "document.txt"
    mime_type: str = "text/plain"
    size: int | None = None


@dataclass(frozen=True)
class Quoted:
    """Another member's message that the question replies to: its words and pictures count too."""

    author: str
    text: str = ""
    images: tuple[ImageAttachment, ...] = ()


@dataclass(eq=False)
class Receipt:
    """The journaled updates one action came in (an album's parts each have one), to be
    marked handled exactly once, after the answer is out.

    A use case whose last write follows its delivery (an image job's `delivered`) marks them
    in that transaction (`unmarked()`, then `marked = True`); the adapter marks them when the
    handler returns if nothing did. A crash before that brings the update back (`replayed`):
    work already paid for is found by `source` and sent again rather than bought again.
    """

    platform: str
    update_ids: tuple[str, ...]
    marked: bool = False
    # Handled again after a crash (bot.lifecycle.recovery), not fresh from the platform.
    replayed: bool = False

    @property
    def source(self) -> str:
        """What the jobs and answers of this action are keyed by ("tg:<update id>")."""
        return f"{self.platform}:{self.update_ids[0]}"

    def unmarked(self) -> tuple[tuple[str, str], ...]:
        """(platform, update id) of each update, unless they were marked already."""
        return () if self.marked else tuple((self.platform, update_id) for update_id in self.update_ids)


@dataclass(frozen=True)
class Incoming:
    """One user action: a message (album collected into one) or a button press."""

    address: ChatAddress
    user: User
    text: str = ""
    images: tuple[ImageAttachment, ...] = ()
    # A voice note or audio file: transcribed, then handled like the same text.
    audio: AudioAttachment | None = None
    documents: tuple[DocumentAttachment, ...] = ()
    message_id: str | None = None
    # Group-chat addressing, decided by the adapter that knows the platform's mentions.
    mentioned: bool = False
    reply_to_bot: bool = False
    # The message this one replies to, when it is not the bot's (groups): part of the question.
    quoted: Quoted | None = None
    # Set for button presses: the opaque payload the bot put on the button.
    callback: str | None = None
    # A non-text, non-image message (sticker, voice, pdf…): its kind, for a polite hint.
    unsupported: str | None = None
    # The message this one replies to (Telegram): its id, and its images (`/describe` as a reply).
    reply_to_message_id: str | None = None
    replied_images: tuple[ImageAttachment, ...] = ()
    # Already parsed by a platform with structured commands (Discord's slash commands).
    command: Command | None = None
    # The journaled updates this came in; None for what was not journaled.
    receipt: Receipt | None = None

    @property
    def source(self) -> str | None:
        """The jobs it starts are keyed by its update, so a redelivered or replayed update
        never pays twice."""
        return None if self.receipt is None else self.receipt.source

    @property
    def is_private(self) -> bool:
        return self.address.kind is ChatKind.PRIVATE

    @property
    def addressed(self) -> bool:
        """Meant for the bot: a private chat, a mention, or a reply to one of its messages."""
        return self.is_private or self.mentioned or self.reply_to_bot


@dataclass(frozen=True)
class Button:
    label: str
    payload: str
    # The button that stops a growing answer: a platform with a stop control of its own
    # (Telegram's drafts) shows that instead and sends this payload when it is used.
    stops_stream: bool = False


ButtonRows = Sequence[Sequence[Button]]


@dataclass(frozen=True)
class OutImage:
    data: bytes = field(repr=False)
    file_name: str = "image.png"
    mime_type: str = "image/png"


@dataclass(frozen=True)
class SentMessage:
    message_id: str


class TextStream(Protocol):
    """A reply that grows while the model writes it (rendered as drafts or edits)."""

    async def push(self, text_so_far: str) -> None: ...

    async def finish(self, final_text: str, *, buttons: ButtonRows = ()) -> None:
        """The whole answer, its last message carrying `buttons` (those shown while it grew go)."""
        ...

    async def abandon(self, note: str = "") -> None:
        """Stop the preview of an answer that will not be finished here; harmless after finish.

        A message already showing part of the answer keeps that part, followed by `note` when
        one is given, and loses its buttons (they would act on an answer that is not there).
        """
        ...


class Outbox(Protocol):
    """Where a handler's replies go: one chat, replying to one message.

    Implemented by each adapter. Long texts are split by the adapter to fit its limits.
    """

    @property
    def address(self) -> ChatAddress: ...

    async def send_text(self, text: str, *, buttons: ButtonRows = ()) -> SentMessage: ...

    async def edit_text(self, message: SentMessage, text: str, *, buttons: ButtonRows = ()) -> None: ...

    async def edit_buttons(self, message: SentMessage, buttons: ButtonRows = ()) -> None:
        """Replace a message's buttons (none: remove them); its text stays."""
        ...

    async def send_images(
        self, images: Sequence[OutImage], *, caption: str = "", buttons: ButtonRows = ()
    ) -> SentMessage: ...

    async def send_file(self, data: bytes, file_name: str, mime: str, *, caption: str = "") -> SentMessage:
        """A document (CSV export, an image that must not be recompressed…)."""
        ...

    async def send_voice(self, data: bytes, file_name: str, mime: str) -> SentMessage:
        """Speech: a voice message where the platform has them, else an audio file."""
        ...

    async def send_rich(self, doc: Rich) -> SentMessage:
        """A formatted report (bold, code…), rendered the platform's way; plain text where there is none."""
        ...

    async def ask_text(self, text: str, *, answer: str, placeholder: str, button: str) -> SentMessage:
        """Ask the user to type something: the platform's way of taking a free-text answer.

        Telegram: a message the app opens a reply to (ForceReply); the reply is the answer.
        Discord: a button labelled `button` (`answer` is its payload) that opens a dialog with a
        text field.
        """
        ...

    def activity(self, kind: Activity) -> AbstractAsyncContextManager[None]: ...

    def stream(self, buttons: ButtonRows = ()) -> TextStream:
        """A growing answer; `buttons` ride along while it grows, where the platform allows."""
        ...


@runtime_checkable
class ChatAdmins(Protocol):
    """An outbox that can ask its platform whether someone administers the chat (Telegram)."""

    async def is_chat_admin(self, user_id: str) -> bool: ...


class Messenger(Protocol):
    """A running platform, able to reach a chat later (resumed Midjourney tasks)."""

    platform: str

    def outbox_for(self, address: ChatAddress, reply_to: str | None) -> Outbox: ...

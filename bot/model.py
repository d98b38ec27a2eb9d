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


@dataclass(frozen=True)
class ChatAddress:
    """Where a conversation lives; `key` never collides across platforms."""

    platform: str
    chat_id: str
    kind: ChatKind = ChatKind.PRIVATE
    thread_id: str | None = None
    title: str = ""

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.chat_id}"


@dataclass(frozen=True)
class User:
    id: str
    name: str
    is_admin: bool = False


@dataclass(frozen=True)
class ImageAttachment:
    """An image the user sent; bytes are fetched only when a handler needs them."""

    fetch: Callable[[], Awaitable[bytes]] = field(repr=False, compare=False)
    file_name: str = "image.jpg"
    mime_type: str = "image/jpeg"
    size: int | None = None


@dataclass(frozen=True)
class Incoming:
    """One user action: a message (album collected into one) or a button press."""

    address: ChatAddress
    user: User
    text: str = ""
    images: tuple[ImageAttachment, ...] = ()
    message_id: str | None = None
    # Group-chat addressing, decided by the adapter that knows the platform's mentions.
    mentioned: bool = False
    reply_to_bot: bool = False
    # Set for button presses: the opaque payload the bot put on the button.
    callback: str | None = None
    # A non-text, non-image message (sticker, voice, pdf…): its kind, for a polite hint.
    unsupported: str | None = None
    # Already parsed by a platform with structured commands (Discord's slash commands).
    command: Command | None = None
    # The journaled update this came from ("tg:<update id>", "dc:<interaction id>"): the
    # jobs it starts are keyed by it, so a redelivered or replayed update never pays twice.
    source: str | None = None

    @property
    def is_private(self) -> bool:
        return self.address.kind is ChatKind.PRIVATE


@dataclass(frozen=True)
class Button:
    label: str
    payload: str


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

    async def finish(self, final_text: str) -> None: ...

    async def abandon(self) -> None:
        """Stop the preview of an answer that will never be finished; harmless after finish."""
        ...


class Outbox(Protocol):
    """Where a handler's replies go: one chat, replying to one message.

    Implemented by each adapter. Long texts are split by the adapter to fit its limits.
    """

    @property
    def address(self) -> ChatAddress: ...

    async def send_text(self, text: str, *, buttons: ButtonRows = ()) -> SentMessage: ...

    async def edit_text(self, message: SentMessage, text: str, *, buttons: ButtonRows = ()) -> None: ...

    async def send_images(
        self, images: Sequence[OutImage], *, caption: str = "", buttons: ButtonRows = ()
    ) -> SentMessage: ...

    async def send_file(self, data: bytes, file_name: str, mime: str, *, caption: str = "") -> SentMessage:
        """A document (CSV export, an image that must not be recompressed…)."""
        ...

    async def send_rich(self, doc: Rich) -> SentMessage:
        """A formatted report (bold, code…), rendered the platform's way; plain text where there is none."""
        ...

    def activity(self, kind: Activity) -> AbstractAsyncContextManager[None]: ...

    def stream(self) -> TextStream: ...


@runtime_checkable
class ChatAdmins(Protocol):
    """An outbox that can ask its platform whether someone administers the chat (Telegram)."""

    async def is_chat_admin(self, user_id: str) -> bool: ...


class Messenger(Protocol):
    """A running platform, able to reach a chat later (resumed Midjourney tasks)."""

    platform: str

    def outbox_for(self, address: ChatAddress, reply_to: str | None) -> Outbox: ...

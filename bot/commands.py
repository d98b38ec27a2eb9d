"""What the router turns an incoming message into: one command per capability."""

from __future__ import annotations

from dataclasses import dataclass

from bot.model import ImageAttachment


@dataclass(frozen=True)
class Chat:
    prompt: str
    images: tuple[ImageAttachment, ...] = ()
    # `/ask` with photos: always a question about them, never an edit.
    explicit: bool = False


@dataclass(frozen=True)
class PhotoCaption:
    """Photos with a caption that is not a command: an edit, or a question about them."""

    prompt: str
    images: tuple[ImageAttachment, ...]


@dataclass(frozen=True)
class EditImages:
    prompt: str
    images: tuple[ImageAttachment, ...]


@dataclass(frozen=True)
class GenerateImage:
    prompt: str


@dataclass(frozen=True)
class Imagine:
    prompt: str
    images: tuple[ImageAttachment, ...] = ()


@dataclass(frozen=True)
class Blend:
    images: tuple[ImageAttachment, ...]
    dimensions: str = "SQUARE"


@dataclass(frozen=True)
class MjButtonPress:
    task_id: str
    button: int


@dataclass(frozen=True)
class ShowUsage:
    args: str = ""


@dataclass(frozen=True)
class NewConversation:
    pass


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class Hint:
    """A one-line reply explaining what was missing; no gateway call."""

    text: str


@dataclass(frozen=True)
class Ignore:
    """Not for us (a group message that does not address the bot)."""


Command = (
    Chat
    | PhotoCaption
    | EditImages
    | GenerateImage
    | Imagine
    | Blend
    | MjButtonPress
    | ShowUsage
    | NewConversation
    | Help
    | Hint
    | Ignore
)

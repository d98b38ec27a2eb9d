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
    # `/mask`: the second photo of the pair; transparent (or white) where to edit.
    mask: ImageAttachment | None = None


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
class MjSeed:
    task_id: str


@dataclass(frozen=True)
class ChooseModel:
    """`/model`: show this chat's chat model and the choices ("" ), or switch to `name`."""

    name: str = ""


@dataclass(frozen=True)
class SetSystemPrompt:
    """`/system`: show ("" ), replace, or reset ("reset") this chat's system prompt."""

    prompt: str = ""


@dataclass(frozen=True)
class ShowUsage:
    args: str = ""


@dataclass(frozen=True)
class Admin:
    """`/admin allow|deny|budget|usage …`: the words after /admin, checked by the handler."""

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
    | MjSeed
    | ChooseModel
    | SetSystemPrompt
    | ShowUsage
    | Admin
    | NewConversation
    | Help
    | Hint
    | Ignore
)

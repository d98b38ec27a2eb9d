"""What a message becomes: one typed command per capability, parsed once at the edge.

The router builds these from text; the Discord adapter builds them from its slash
command options. Nothing downstream parses words again. `Command` is the union every
dispatcher matches exhaustively (`bot.core`), so a new command without a handler is a
type error.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from bot.i18n import Lang, Text
from bot.model import AudioAttachment, DocumentAttachment, ImageAttachment
from bot.usage.limits import LimitKey


class UsagePeriod(StrEnum):
    TODAY = "today"
    WEEK = "week"
    MONTH = "month"
    ALL = "all"


class UsageView(StrEnum):
    TOTALS = "totals"
    MINE = "me"
    CHART = "chart"
    EXPORT = "export"


@dataclass(frozen=True)
class Chat:
    prompt: str
    images: tuple[ImageAttachment, ...] = ()
    # `/ask` with photos: always a question about them, never an edit.
    explicit: bool = False
    # Text files (and PDF text) that become part of this turn's context.
    documents: tuple[DocumentAttachment, ...] = ()


@dataclass(frozen=True)
class Transcribe:
    """A voice note or audio file: transcribed, shown, then handled like the same text."""

    audio: AudioAttachment


@dataclass(frozen=True)
class Speak:
    """Not a user command: an answer read aloud for a chat with `/voice on` (admitted as work)."""

    text: str


@dataclass(frozen=True)
class SetVoice:
    """`/voice on|off`: answers also come back as speech; None shows the setting."""

    enabled: bool | None = None


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
class Regenerate:
    """🔄 under a chat answer: ask its question again, the new answer replacing the old one."""

    answer_key: str


@dataclass(frozen=True)
class StopAnswer:
    """⏹ under a streaming answer."""

    answer_key: str


@dataclass(frozen=True)
class ContinueAnswer:
    """ "Continue" under an answer cut at the output cap."""

    answer_key: str


@dataclass(frozen=True)
class Describe:
    """`/describe` with a photo: Midjourney's four prompts for it."""

    image: ImageAttachment


@dataclass(frozen=True)
class MjImaginePrompt:
    """An "Imagine n" button under a Describe result: /imagine its n-th prompt (1–4)."""

    task_id: str
    number: int


@dataclass(frozen=True)
class MjPromptAnswer:
    """The prompt a task waiting in MODAL asked for (custom zoom, remix), by request id."""

    request_id: str
    prompt: str


@dataclass(frozen=True)
class ChooseModel:
    """`/model`: show this chat's chat model and the choices (""), or switch to `name`."""

    name: str = ""


@dataclass(frozen=True)
class SetSystemPrompt:
    """`/system`: show (""), replace, or reset ("reset") this chat's system prompt."""

    prompt: str = ""


@dataclass(frozen=True)
class ShowLanguage:
    """`/lang` alone: the reader's language, where it comes from, and buttons to change it."""


@dataclass(frozen=True)
class SetLanguage:
    """`/lang <en|zh|auto>` for oneself, `/lang chat <…>` for the chat (its admins); None: auto."""

    lang: Lang | None
    for_chat: bool = False


@dataclass(frozen=True)
class ShowUsage:
    view: UsageView = UsageView.TOTALS
    period: UsagePeriod = UsagePeriod.MONTH


@dataclass(frozen=True)
class AdminHelp:
    """`/admin` alone, or words it does not know."""


@dataclass(frozen=True)
class AdminAccess:
    """`/admin allow|deny [<chat>]`; chat None: the chat the command is sent in."""

    allowed: bool
    chat: str | None = None


@dataclass(frozen=True)
class BudgetChange:
    """One limit to set: `amount` None means "off" (no limit); `reset` returns to the default."""

    key: LimitKey
    amount: Decimal | None = None
    reset: bool = False


@dataclass(frozen=True)
class AdminBudget:
    """`/admin budget [<chat>] [<change>]`: show the limits, after applying `change` if any."""

    chat: str | None = None
    change: BudgetChange | None = None


@dataclass(frozen=True)
class AdminUsage:
    """`/admin usage [<chat>] [period]`: every chat's totals, or one chat's."""

    chat: str | None = None
    period: UsagePeriod = UsagePeriod.MONTH


@dataclass(frozen=True)
class NewConversation:
    pass


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class Hint:
    """A one-line reply explaining what was missing; no gateway call."""

    text: Text


@dataclass(frozen=True)
class Ignore:
    """Not for us (a group message that does not address the bot)."""


Admin = AdminHelp | AdminAccess | AdminBudget | AdminUsage

Command = (
    Chat
    | PhotoCaption
    | Transcribe
    | SetVoice
    | EditImages
    | GenerateImage
    | Imagine
    | Blend
    | MjButtonPress
    | MjSeed
    | Regenerate
    | StopAnswer
    | ContinueAnswer
    | Describe
    | MjImaginePrompt
    | MjPromptAnswer
    | ChooseModel
    | SetSystemPrompt
    | ShowLanguage
    | SetLanguage
    | ShowUsage
    | AdminHelp
    | AdminAccess
    | AdminBudget
    | AdminUsage
    | NewConversation
    | Help
    | Hint
    | Ignore
)

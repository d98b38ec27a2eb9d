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

from bot.model import ImageAttachment
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
    """`/model`: show this chat's chat model and the choices (""), or switch to `name`."""

    name: str = ""


@dataclass(frozen=True)
class SetSystemPrompt:
    """`/system`: show (""), replace, or reset ("reset") this chat's system prompt."""

    prompt: str = ""


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

    text: str


@dataclass(frozen=True)
class Ignore:
    """Not for us (a group message that does not address the bot)."""


Admin = AdminHelp | AdminAccess | AdminBudget | AdminUsage

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
    | AdminHelp
    | AdminAccess
    | AdminBudget
    | AdminUsage
    | NewConversation
    | Help
    | Hint
    | Ignore
)

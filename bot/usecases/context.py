"""What every use case is handed about the request it serves."""

from __future__ import annotations

from dataclasses import dataclass

from bot.i18n import Tr
from bot.lifecycle.jobs import JobKeys
from bot.model import Incoming, Outbox


@dataclass(frozen=True)
class ChatSettings:
    """This chat's own choices, read once per request (the operator's defaults filled in)."""

    model: str
    system_prompt: str
    epoch: int
    # /voice on: answers are also read aloud.
    voice: bool = False


@dataclass(frozen=True)
class Request:
    """Who asked, where (`msg`), where the replies go (`out`), the chat's settings, and the
    reader's language (`tr` renders a `bot.i18n.Text` for them)."""

    msg: Incoming
    out: Outbox
    chat: ChatSettings
    keys: JobKeys
    tr: Tr

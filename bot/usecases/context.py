"""What every use case is handed about the request it serves."""

from __future__ import annotations

from dataclasses import dataclass

from bot.lifecycle.jobs import JobKeys
from bot.model import Incoming, Outbox


@dataclass(frozen=True)
class ChatSettings:
    """This chat's own choices, read once per request (the operator's defaults filled in)."""

    model: str
    system_prompt: str
    epoch: int


@dataclass(frozen=True)
class Request:
    """Who asked, where (`msg`), where the replies go (`out`), and the chat's settings."""

    msg: Incoming
    out: Outbox
    chat: ChatSettings
    keys: JobKeys

"""Drafts that show Telegram's own stop button, and which button payload a press of it means.

A draft carries no inline keyboard, so a private chat's growing answer cannot show our ⏹.
Telegram draws a stop button on the draft itself (`can_stop`) and reports a press as a
`stopped_message_generation` update naming the chat and the draft; this table turns that
back into the ⏹ payload. Per process: a draft exists only while its answer streams here.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field

DraftId = tuple[int, int]  # (chat id, draft id)


def new_draft_id() -> int:
    return secrets.randbelow(2**31 - 2) + 1  # any non-zero id


@dataclass
class ReplyDraft:
    """One reply's draft in a private chat: first Telegram's "Thinking…" placeholder while
    the bot waits, then the streamed text, under one id so that Telegram animates the change.

    `streaming` is set once the answer's own text is shown: the placeholder is not renewed
    over it.
    """

    id: int = field(default_factory=new_draft_id)
    streaming: bool = False


class DraftStops:
    def __init__(self) -> None:
        self._payloads: dict[DraftId, str] = {}

    def add(self, chat_id: int, draft_id: int, payload: str) -> None:
        self._payloads[chat_id, draft_id] = payload

    def remove(self, chat_id: int, draft_id: int) -> None:
        self._payloads.pop((chat_id, draft_id), None)

    def payload(self, chat_id: int, draft_id: int) -> str | None:
        return self._payloads.get((chat_id, draft_id))


@dataclass
class Placeholders:
    """Whether to show the "Thinking…" placeholder, for the whole process.

    A bot Telegram refuses drafts to refuses them in every private chat: after a refusal the
    bot types instead for `pause` seconds (not one refused call per answer), then tries
    again, in case its settings changed.
    """

    pause: float = 600.0
    _refused_until: float = 0.0

    @property
    def allowed(self) -> bool:
        return time.monotonic() >= self._refused_until

    def refused(self) -> None:
        self._refused_until = time.monotonic() + self.pause

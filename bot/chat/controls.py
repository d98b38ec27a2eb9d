"""The buttons under a chat answer: ⏹ while it streams; 🔄 and "continue" once it is done.

A button names its answer by a durable key stored with the answer (`answer_key` of the
conversation turn), so 🔄 and "continue" work after a restart; ⏹ reaches the stream itself
(bot.chat.running).
"""

from __future__ import annotations

import uuid

from bot.i18n import Tr, t
from bot.model import Button, ButtonRows
from bot.router import continue_payload, regenerate_payload, stop_payload

STOP_LABEL = t("⏹ Stop")
REGENERATE_LABEL = "🔄"
CONTINUE_LABEL = t("▶️ Continue")
CUT_AT_CAP = frozenset({"length", "max_tokens"})


def new_answer_key(source: str | None = None) -> str:
    """A fresh name; for a button press, the same one each time its update is handled, so a
    press replayed after a crash finds the answer it had already taken over."""
    return uuid.uuid5(_PRESSES, source).hex if source else uuid.uuid4().hex


_PRESSES = uuid.UUID("5d1c2a6e-8f0b-4d7e-9a43-2b6f1c0e7a91")


def streaming_buttons(answer_key: str, tr: Tr) -> ButtonRows:
    return [[Button(tr(STOP_LABEL), stop_payload(answer_key), stops_stream=True)]]


def final_buttons(answer_key: str, tr: Tr, *, cut_at_cap: bool) -> ButtonRows:
    row = [Button(REGENERATE_LABEL, regenerate_payload(answer_key))]
    if cut_at_cap:
        row.append(Button(tr(CONTINUE_LABEL), continue_payload(answer_key)))
    return [row]

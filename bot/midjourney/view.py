"""How Midjourney work looks in a chat: status lines, the grid's buttons, action names."""

from __future__ import annotations

from collections.abc import Sequence

from bot.model import Button
from bot.router import button_payload, seed_payload
from storage import MjButton

# Buttons that need a follow-up dialog (modal) or do nothing useful through the API.
_UNSUPPORTED_PREFIXES = ("MJ::CustomZoom", "MJ::Inpaint", "MJ::BOOKMARK", "MJ::Job::PicReader")
_BUTTONS_PER_ROW = 5


def _headline(action: str, prompt: str) -> str:
    short = prompt if len(prompt) <= 120 else prompt[:119] + "…"
    return f"🎨 Midjourney {action.lower()}: {short}"


def status_text(action: str, prompt: str, status: str, progress: str) -> str:
    label = {
        "": "queued",
        "NOT_START": "queued",
        "SUBMITTED": "submitted",
        "MODAL": "waiting",
        "IN_PROGRESS": progress or "started",
    }.get(status, status.lower())
    return f"{_headline(action, prompt)}\n⏳ {label}"


def done_text(action: str, prompt: str) -> str:
    return f"{_headline(action, prompt)}\n✅ done"


def button_rows(task_id: str, buttons: Sequence[MjButton]) -> list[list[Button]]:
    """The gateway's buttons in its order, five per row; index = position in the task."""
    usable = [
        Button(b.label or b.emoji or "•", button_payload(task_id, index))
        for index, b in enumerate(buttons)
        if not b.custom_id.startswith(_UNSUPPORTED_PREFIXES)
    ]
    rows = [usable[i : i + _BUTTONS_PER_ROW] for i in range(0, len(usable), _BUTTONS_PER_ROW)]
    # Not a Midjourney button: the bot asks /mj/task/{id}/image-seed when it is pressed.
    rows.append([Button("🌱 Seed", seed_payload(task_id))])
    return rows


def action_of(custom_id: str) -> str:
    """The task action a button starts, from its customId (MJ::JOB::upsample::1::…)."""
    parts = custom_id.split("::")
    verb = parts[2] if len(parts) > 2 and parts[1] == "JOB" else (parts[1] if len(parts) > 1 else "")
    known = {
        "upsample": "UPSCALE",
        "variation": "VARIATION",
        "reroll": "REROLL",
        "Outpaint": "ZOOM",
        "low_variation": "LOW_VARIATION",
        "high_variation": "HIGH_VARIATION",
    }
    if verb.startswith("pan_"):
        return "PAN"
    if verb.startswith("upsample"):
        return "UPSCALE"
    return known.get(verb, "ACTION")

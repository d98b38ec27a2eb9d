"""How Midjourney work looks in a chat: status lines, the grid's buttons, action names."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.i18n import Say, Text, Tr, t, tn
from bot.model import Button
from bot.router import button_payload, prompt_payload, seed_payload
from storage import MjButton

# Buttons that need a mask (vary region) or do nothing useful through the API. Custom Zoom
# is offered: its task waits in MODAL and the chat is asked for the prompt.
_UNSUPPORTED_PREFIXES = ("MJ::Inpaint", "MJ::BOOKMARK", "MJ::Job::PicReader", "MJ::Picread")
# Describe numbers its prompts with keycap emojis: "1️⃣ a red fox … 2️⃣ …".
_KEYCAP = re.compile(r"(?:^|\s)[1-9]\ufe0f?\u20e3\s*")
_BUTTONS_PER_ROW = 5


# Task actions as status lines name them; an action not listed shows its own name.
ACTION_NAMES: dict[str, Text] = {
    "IMAGINE": t("imagine"),
    "BLEND": t("blend"),
    "UPSCALE": t("upscale"),
    "VARIATION": t("variation"),
    "LOW_VARIATION": t("subtle variation"),
    "HIGH_VARIATION": t("strong variation"),
    "REROLL": t("reroll"),
    "ZOOM": t("zoom out"),
    "PAN": t("pan"),
    "ACTION": t("action"),
    "DESCRIBE": t("describe"),
    "CUSTOM_ZOOM": t("custom zoom"),
}


def _headline(action: str, prompt: str) -> Text:
    short: Say = prompt if len(prompt) <= 120 else prompt[:119] + "…"
    if action == "DESCRIBE":  # its prompt is only a name for the photo
        short = t("your photo")
    return t("🎨 Midjourney {action}: {prompt}", action=action_name(action), prompt=short)


def status_text(action: str, prompt: str, status: str, progress: str) -> Text:
    label: Say = {
        "": t("queued"),
        "NOT_START": t("queued"),
        "SUBMITTED": t("submitted"),
        "MODAL": t("waiting"),
        "IN_PROGRESS": progress or t("started"),
    }.get(status, status.lower())
    return t("{headline}\n⏳ {status}", headline=_headline(action, prompt), status=label)


def done_text(action: str, prompt: str) -> Text:
    return t("{headline}\n✅ done", headline=_headline(action, prompt))


def continued_text(action: str, prompt: str) -> Text:
    """The status message of a task that waited for a prompt: it goes on in a new message."""
    return t("{headline}\n↪️ continued below with the new prompt", headline=_headline(action, prompt))


def button_rows(task_id: str, buttons: Sequence[MjButton], tr: Tr) -> list[list[Button]]:
    """The gateway's buttons in its order, five per row; index = position in the task."""
    usable = [
        Button(b.label or b.emoji or "•", button_payload(task_id, index))
        for index, b in enumerate(buttons)
        if not b.custom_id.startswith(_UNSUPPORTED_PREFIXES)
    ]
    rows = [usable[i : i + _BUTTONS_PER_ROW] for i in range(0, len(usable), _BUTTONS_PER_ROW)]
    # Not a Midjourney button: the bot asks /mj/task/{id}/image-seed when it is pressed.
    rows.append([Button(tr(t("🌱 Seed")), seed_payload(task_id))])
    return rows


def described_prompts(text: str) -> list[str]:
    """The numbered prompts of a Describe result, in order (the whole text when unnumbered)."""
    parts = [part.strip() for part in _KEYCAP.split(text.strip())]
    prompts = [part for part in parts if part]
    return prompts[:4]


def describe_text(prompts: Sequence[str]) -> Text:
    body = "\n\n".join(f"{n}. {prompt}" for n, prompt in enumerate(prompts, 1))
    return t(
        "🖼️ Midjourney suggests these prompts for your photo; press a button to imagine one of them."
        "\n\n{prompts}",
        prompts=body,
    )


def describe_buttons(task_id: str, count: int, tr: Tr) -> list[list[Button]]:
    """An "Imagine n" button per prompt; the payload names the task, whose row keeps the prompts."""
    return [[Button(tr(t("Imagine {n}", n=n)), prompt_payload(task_id, n)) for n in range(1, count + 1)]]


def ask_prompt_text(action: str, example: str, minutes: int) -> Text:
    """The question for a task waiting in MODAL; the answer is the new prompt."""
    return tn(
        "✏️ Midjourney is waiting for a new prompt for {action} (for example: {example}). "
        "Please send it within {n} minute.",
        "✏️ Midjourney is waiting for a new prompt for {action} (for example: {example}). "
        "Please send it within {n} minutes.",
        n=minutes,
        action=action_name(action),
        example=example,
    )


def modal_example(action: str, parent_prompt: str) -> str:
    """What to suggest as the new prompt: the picture's own, with a zoom for Custom Zoom."""
    base = parent_prompt.split(" · ", 1)[-1].strip() or "a new prompt"
    return f"{base} --zoom 2" if action == "CUSTOM_ZOOM" and "--zoom" not in base else base


def action_name(action: str) -> Say:
    """An action as people read it: CUSTOM_ZOOM → "custom zoom"; one not listed by its own name."""
    return ACTION_NAMES.get(action, action.replace("_", " ").lower())


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
        "CustomZoom": "CUSTOM_ZOOM",
    }
    if verb.startswith("pan_"):
        return "PAN"
    if verb.startswith("upsample"):
        return "UPSCALE"
    return known.get(verb, "ACTION")

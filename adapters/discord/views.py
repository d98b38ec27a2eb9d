"""Buttons: neutral `ButtonRows` → a `discord.ui.View`, and presses back to payloads.

The button's custom_id *is* the neutral payload (e.g. "mj:<task_id>:<index>"), and the
core resolves it from the database. Nothing about a button lives in this process, so a
press is handled the same before and after a restart: the client's `on_interaction`
sees every component interaction, with no per-message view to re-register.
"""

from __future__ import annotations

import logging

import discord

from bot.i18n import Tr, t
from bot.model import Button, ButtonRows

log = logging.getLogger(__name__)

MAX_ROWS = 5  # Discord: five action rows of five buttons per message
MAX_PER_ROW = 5
MAX_CUSTOM_ID = 100
MAX_LABEL = 80
MAX_INPUT = 4000  # a text input's longest value
ANSWER_FIELD = "prompt"
DIALOG_TITLE = t("Midjourney prompt")  # Discord: at most 45 characters, as the label
DIALOG_LABEL = t("The new prompt")


def build_view(buttons: ButtonRows) -> discord.ui.View | None:
    """A view for sending; None when there are no buttons."""
    rows = _fit_rows(buttons)
    if not rows:
        return None
    view = discord.ui.View(timeout=None)
    for row_number, row in enumerate(rows):
        for button in row:
            if len(button.payload) > MAX_CUSTOM_ID:
                raise ValueError(f"button payload longer than {MAX_CUSTOM_ID} characters")
            view.add_item(
                discord.ui.Button(
                    label=button.label[:MAX_LABEL] or "•",
                    custom_id=button.payload,
                    style=discord.ButtonStyle.secondary,
                    row=row_number,
                )
            )
    # A stopped view is rendered into the message but never kept in discord.py's view
    # store: presses are routed by custom_id in `on_interaction`, so memory stays flat.
    view.stop()
    return view


def _fit_rows(buttons: ButtonRows) -> list[list[Button]]:
    """The rows as given when Discord can show them; else reflowed five to a row (a list of
    choices sent one per row), and what still does not fit is dropped with a warning."""
    rows = [list(row) for row in buttons if row]
    if len(rows) <= MAX_ROWS and all(len(row) <= MAX_PER_ROW for row in rows):
        return rows
    flat = [button for row in rows for button in row]
    limit = MAX_ROWS * MAX_PER_ROW
    if len(flat) > limit:
        log.warning("%d buttons do not fit on one Discord message; showing %d", len(flat), limit)
        flat = flat[:limit]
    return [flat[i : i + MAX_PER_ROW] for i in range(0, len(flat), MAX_PER_ROW)]


def pressed_button(interaction: discord.Interaction) -> str | None:
    """The custom_id of a pressed button, or None for any other interaction."""
    if interaction.type is not discord.InteractionType.component:
        return None
    data: dict[str, object] = dict(interaction.data or {})
    if data.get("component_type") != discord.ComponentType.button.value:
        return None
    custom_id = data.get("custom_id")
    return custom_id if isinstance(custom_id, str) and custom_id else None


def prompt_dialog(custom_id: str, tr: Tr) -> discord.ui.Modal:
    """The dialog a question's button opens: one text field; its custom_id names the question.

    Stopped before it is sent, like the views: discord.py then keeps no state for it and
    the submission reaches `on_interaction`, where `submitted_answer` reads it — the same
    before and after a restart.
    """
    dialog = discord.ui.Modal(title=tr(DIALOG_TITLE), custom_id=custom_id, timeout=None)
    dialog.add_item(
        discord.ui.TextInput(
            label=tr(DIALOG_LABEL),
            custom_id=ANSWER_FIELD,
            style=discord.TextStyle.paragraph,
            max_length=MAX_INPUT,
        )
    )
    dialog.stop()
    return dialog


def submitted_answer(interaction: discord.Interaction) -> tuple[str, str] | None:
    """(custom_id, text) of a submitted dialog, or None for any other interaction."""
    if interaction.type is not discord.InteractionType.modal_submit:
        return None
    data: dict[str, object] = dict(interaction.data or {})
    custom_id = data.get("custom_id")
    if not isinstance(custom_id, str) or not custom_id:
        return None
    for row in _list(data.get("components")):
        for field in _list(row.get("components")) if isinstance(row, dict) else []:
            if isinstance(field, dict) and field.get("custom_id") == ANSWER_FIELD:
                value = field.get("value")
                return custom_id, value if isinstance(value, str) else ""
    return custom_id, ""


def _list(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else []

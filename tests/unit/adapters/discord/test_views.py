"""Neutral button rows → discord.ui.View."""

from __future__ import annotations

import pytest

from adapters.discord.views import ANSWER_FIELD, build_view, prompt_dialog
from bot.i18n import Catalog, Lang, Tr
from bot.model import Button


async def test_no_buttons_no_view() -> None:
    assert build_view(()) is None
    assert build_view([[]]) is None


async def test_rows_labels_and_custom_ids() -> None:
    rows = [[Button(f"U{n}", f"mj:task:{n}") for n in range(1, 5)], [Button("🔄", "mj:task:4")]]
    view = build_view(rows)
    assert view is not None
    components = view.to_components()
    assert len(components) == 2
    first = components[0]["components"]
    assert [(c["label"], c["custom_id"]) for c in first] == [(f"U{n}", f"mj:task:{n}") for n in range(1, 5)]
    assert components[1]["components"][0]["custom_id"] == "mj:task:4"
    # Presses are routed by custom_id, not by a view kept in memory per message.
    assert view.is_finished()


async def test_payload_longer_than_discord_allows_is_refused() -> None:
    with pytest.raises(ValueError, match="100"):
        build_view([[Button("x", "mj:" + "t" * 100 + ":1")]])


async def test_a_long_list_of_one_button_rows_is_reflowed_to_fit_five_rows() -> None:
    rows = [[Button(f"model-{n}", f"model:m{n}")] for n in range(12)]
    view = build_view(rows)
    assert view is not None
    components = view.to_components()
    assert [len(row["components"]) for row in components] == [5, 5, 2]
    assert [c["custom_id"] for row in components for c in row["components"]] == [
        f"model:m{n}" for n in range(12)
    ]


async def test_more_than_25_buttons_are_cut_to_25() -> None:
    view = build_view([[Button(str(n), f"p:{n}")] for n in range(30)])
    assert view is not None
    assert sum(len(row["components"]) for row in view.to_components()) == 25


async def test_the_prompt_dialog_keeps_no_state_and_has_one_text_field() -> None:
    dialog = prompt_dialog("mjask:r1", Tr(Catalog.load(), Lang.EN))
    assert dialog.is_finished(), "submissions are routed by custom_id, like button presses"
    body = dialog.to_dict()
    assert body["custom_id"] == "mjask:r1" and 1 <= len(body["title"]) <= 45
    [row] = body["components"]
    [field] = row["components"]
    assert field["custom_id"] == ANSWER_FIELD and field["style"] == 2 and field["max_length"] == 4000

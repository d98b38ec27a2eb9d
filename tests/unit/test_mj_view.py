"""How Midjourney results and questions read in a chat: Describe's prompts, buttons, examples."""

from __future__ import annotations

from bot.i18n import Catalog, Lang, Tr
from bot.midjourney.view import (
    action_name,
    action_of,
    button_rows,
    describe_buttons,
    describe_text,
    described_prompts,
    modal_example,
)
from storage import MjButton

CATALOG = Catalog.load()
EN = Tr(CATALOG, Lang.EN)
ZH = Tr(CATALOG, Lang.ZH)

DESCRIBED = (
    "1\ufe0f\u20e3 a red fox in the snow, watercolor --ar 3:2\n\n"
    "2\ufe0f\u20e3 fox portrait, 2 eyes glowing --ar 3:2\n\n"
    "3\u20e3 minimal red shapes --ar 3:2\n\n"  # a keycap without the variation selector
    "4\ufe0f\u20e3 a fox, flat design --ar 3:2 "
)


def test_described_prompts_are_split_at_the_keycaps_only() -> None:
    assert described_prompts(DESCRIBED) == [
        "a red fox in the snow, watercolor --ar 3:2",
        "fox portrait, 2 eyes glowing --ar 3:2",
        "minimal red shapes --ar 3:2",
        "a fox, flat design --ar 3:2",
    ]
    assert described_prompts("just one prompt") == ["just one prompt"]
    assert described_prompts("  ") == []
    five = DESCRIBED + "\n\n5\ufe0f\u20e3 extra"
    assert len(described_prompts(five)) == 4, "four buttons at most"


def test_describe_message_numbers_the_prompts_and_names_its_task_on_each_button() -> None:
    prompts = described_prompts(DESCRIBED)
    for tr in (EN, ZH):
        text = tr(describe_text(prompts))
        assert text.split("\n\n")[1:] == [f"{n}. {p}" for n, p in enumerate(prompts, 1)]
    [row] = describe_buttons("1234567890123456", len(prompts), EN)
    assert [(b.label, b.payload) for b in row] == [
        (f"Imagine {n}", f"mj:1234567890123456:p{n}") for n in range(1, 5)
    ]
    [row] = describe_buttons("1234567890123456", len(prompts), ZH)
    assert row[0].label != "Imagine 1" and row[0].label.endswith("1"), "the label is translated"


def test_custom_zoom_is_offered_and_vary_region_is_not() -> None:
    buttons = [
        MjButton("MJ::JOB::upsample::1::h", "U1"),
        MjButton("MJ::Inpaint::1::h::SOLO", "Vary (Region)"),
        MjButton("MJ::CustomZoom::h", "Custom Zoom", "🔍"),
    ]
    labels = [b.label for row in button_rows("7", buttons, EN) for b in row]
    assert labels == ["U1", "Custom Zoom", "🌱 Seed"]
    [row, _seed] = button_rows("7", buttons, EN)
    assert row[1].payload == "mj:7:2", "the index is the button's place in the task"
    assert action_of("MJ::CustomZoom::h") == "CUSTOM_ZOOM"
    assert EN(action_name("CUSTOM_ZOOM")) == "custom zoom"
    assert ZH(action_name("CUSTOM_ZOOM")) != "custom zoom"


def test_the_suggested_prompt_is_the_pictures_own() -> None:
    assert modal_example("CUSTOM_ZOOM", "U1 · a tower --ar 2:3") == "a tower --ar 2:3 --zoom 2"
    assert modal_example("CUSTOM_ZOOM", "a tower --zoom 1.5") == "a tower --zoom 1.5"
    assert modal_example("VARIATION", "a boat") == "a boat"
    assert modal_example("VARIATION", "") == "a new prompt"

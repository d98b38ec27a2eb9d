"""Pure helpers: prompt cleaning, schema filling, chunking, customId parsing, colours."""

from __future__ import annotations

import pytest

from simulator.mj_tasks import parse_custom_id
from simulator.pictures import colour_name, inspect
from simulator.prompts import banned_word, clean_prompt, directives, wants_picture
from simulator.schema_fill import SchemaFiller, pick_enum
from simulator.sse import even_pieces, text_pieces

from .util import picture


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Please draw me a picture of a red fox at sunset!", "a red fox at sunset"),
        ("paint a blue whale, please", "a blue whale"),
        ("画一只猫", "猫"),
        ("请画只狗。", "狗"),
        ("a castle [[fail]]", "a castle"),
        ("draw", "draw"),
    ],
)
def test_clean_prompt(text: str, expected: str) -> None:
    assert clean_prompt(text) == expected


def test_triggers() -> None:
    assert wants_picture("Can you DRAW this?")
    assert wants_picture("a picture of a dog")
    assert wants_picture("画画")
    assert not wants_picture("withdrawal notice")
    assert directives("please tool:get_weather  Boston") == (["get_weather"], "please Boston")
    assert directives("no directive here") == ([], "no directive here")
    assert directives("tool:a*3 tool:b x") == (["a", "a", "a", "b"], "x")
    assert banned_word("NSFW content") == "nsfw"
    assert banned_word("gorgeous view") is None


def test_pick_enum_rules() -> None:
    values = ["chat", "image", "question"]
    assert pick_enum(values, "intent", "make an IMAGE") == "image"
    assert pick_enum(values, "intent", "how tall is it?") == "question"
    assert pick_enum(values, "kind", "how tall is it?") == "chat"
    assert pick_enum(values, "intent", "paint a cow") == "image"


def test_schema_filler_handles_refs_unions_and_bounds() -> None:
    schema = {
        "$defs": {"Item": {"type": "object", "properties": {"n": {"type": "integer", "minimum": 5}}}},
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/$defs/Item"}, "minItems": 2},
            "maybe": {"anyOf": [{"type": "null"}, {"type": "number", "maximum": 0.5}]},
            "when": {"type": "string", "format": "date-time"},
            "short": {"type": "string", "maxLength": 3},
            "fixed": {"const": "x"},
            "flag": {"type": ["boolean", "null"]},
        },
    }
    assert SchemaFiller(schema, "hello world").fill() == {
        "items": [{"n": 5}, {"n": 5}],
        "maybe": 0.5,
        "when": "2025-01-01T00:00:00Z",
        "short": "hel",
        "fixed": "x",
        "flag": False,
    }


def test_tool_args_fill_required_strings_with_the_subject() -> None:
    schema = {
        "type": "object",
        "properties": {"prompt": {"type": "string"}, "n": {"type": "integer"}, "style": {"type": "string"}},
        "required": ["prompt", "n"],
    }
    assert SchemaFiller(schema, "draw a tree", tool_args=True).object_args() == {"prompt": "a tree", "n": 1}
    no_required = {"type": "object", "properties": {"q": {"type": "string"}}}
    assert SchemaFiller(no_required, "find cats", tool_args=True).object_args() == {"q": "find cats"}


def test_chunking_round_trips() -> None:
    text = "Echo: " + " ".join(f"w{i}" for i in range(100)) + " ![image](data:image/png;base64,AAAA)"
    pieces = text_pieces(text)
    assert "".join(pieces) == text
    assert 3 <= len(pieces) <= 12
    assert any(p.endswith("![image](data:image/png;base64,AAAA)") for p in pieces)
    assert "".join(even_pieces('{"a": 1}')) == '{"a": 1}'
    assert text_pieces("") == []


@pytest.mark.parametrize(
    ("custom_id", "expected"),
    [
        ("MJ::JOB::upsample::3::abc", ("UPSCALE", 3)),
        ("MJ::JOB::upsample_v6_2x_subtle::1::abc::SOLO", ("UPSCALE", 1)),
        ("MJ::JOB::variation::4::abc", ("VARIATION", 4)),
        ("MJ::JOB::reroll::0::abc::SOLO", ("REROLL", 1)),
        ("MJ::JOB::high_variation::1::abc::SOLO", ("HIGH_VARIATION", 1)),
        ("MJ::JOB::low_variation::1::abc::SOLO", ("LOW_VARIATION", 1)),
        ("MJ::JOB::pan_down::1::abc::SOLO", ("PAN", 1)),
        ("MJ::Outpaint::50::1::abc::SOLO", ("ZOOM", 1)),
        ("MJ::CustomZoom::abc", ("CUSTOM_ZOOM", 1)),
        ("MJ::JOB::upsample::5::abc", None),
        ("MJ::JOB::reroll::0::abc", None),
        ("MJ::BOOKMARK::abc", None),
    ],
)
def test_parse_custom_id(custom_id: str, expected: tuple[str, int] | None) -> None:
    assert parse_custom_id(custom_id) == expected


def test_colours_and_inspection() -> None:
    assert colour_name((250, 5, 5)) == "red"
    assert colour_name((10, 10, 10)) == "black"
    info = inspect(picture("purple", (10, 20), "WEBP"))
    assert info is not None
    assert info.describe() == "10x20 purple"
    assert info.format == "WEBP"
    assert inspect(b"not an image") is None

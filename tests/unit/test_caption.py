"""Reading the caption classifier's structured answer."""

from __future__ import annotations

import pytest

from bot.usecases.caption import SCHEMA, Decision, parse_decision


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"intent": "edit", "prompt": "make it blue"}', Decision("edit", "make it blue")),
        ('{"intent": "question", "prompt": "  what is this?  "}', Decision("question", "what is this?")),
        ('{"intent": "blend", "prompt": ""}', Decision("blend", "the caption")),
        ('{"intent": "blend"}', Decision("blend", "the caption")),
    ],
)
def test_valid_answers(content: str, expected: Decision) -> None:
    assert parse_decision(content, "the caption") == expected


@pytest.mark.parametrize(
    "content",
    ['Sure! {"intent": "edit"', '{"intent": "delete", "prompt": "x"}', "[]", "", '"edit"', '{"prompt": "x"}'],
)
def test_anything_else_is_not_a_decision(content: str) -> None:
    assert parse_decision(content, "caption") is None


def test_the_schema_is_strict() -> None:
    spec = SCHEMA["json_schema"]
    assert SCHEMA["type"] == "json_schema" and spec["strict"] is True
    assert spec["schema"]["additionalProperties"] is False
    assert set(spec["schema"]["required"]) == set(spec["schema"]["properties"])

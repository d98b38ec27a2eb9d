"""POST /v1/chat/completions without streaming."""

from __future__ import annotations

import base64
import json
import math
import re
from typing import Any, Literal

import httpx
import pytest
from pydantic import BaseModel

from simulator import Simulator

from .util import data_url, decode_png, picture, user

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {
                "type": "object",
                "properties": {
                    "location": {"type": "string"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                },
                "required": ["location"],
            },
        },
    },
    {
        "type": "function",
        "function": {"name": "edit_image", "parameters": {"type": "object", "properties": {}}},
    },
    {
        "type": "function",
        "function": {
            "name": "generate_image",
            "parameters": {
                "type": "object",
                "properties": {"prompt": {"type": "string"}, "size": {"type": "string"}},
                "required": ["prompt"],
            },
        },
    },
]


async def chat(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    body.setdefault("model", "gpt-4o-mini")
    response = await client.post("/v1/chat/completions", json=body)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def test_plain_echo_with_usage(client: httpx.AsyncClient) -> None:
    data = await chat(client, messages=[{"role": "system", "content": "be brief"}, user("Hello!")])
    assert data["object"] == "chat.completion"
    choice = data["choices"][0]
    assert choice["message"] == {"role": "assistant", "content": "Echo: Hello!"}
    assert choice["finish_reason"] == "stop"
    # ceil(chars / 4): "be brief" + "Hello!" = 14 chars; "Echo: Hello!" = 12 chars.
    assert data["usage"] == {"prompt_tokens": 4, "completion_tokens": 3, "total_tokens": 7}


async def test_history_is_reported(client: httpx.AsyncClient) -> None:
    messages = [user("one"), {"role": "assistant", "content": "Echo: one"}, user("two")]
    data = await chat(client, messages=messages)
    assert data["choices"][0]["message"]["content"] == "Echo: two [history: 2 messages]"
    data = await chat(client, messages=messages[1:])
    assert data["choices"][0]["message"]["content"] == "Echo: two [history: 1 message]"


async def test_vision_parts_are_decoded_and_described(client: httpx.AsyncClient) -> None:
    content = [
        {"type": "text", "text": "what are these?"},
        {"type": "image_url", "image_url": {"url": data_url(picture("red", (64, 48)))}},
        {
            "type": "image_url",
            "image_url": {"url": data_url(picture("blue", (32, 32), "JPEG"), "image/jpeg"), "detail": "low"},
        },
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
    ]
    data = await chat(client, model="gpt-4o", messages=[{"role": "user", "content": content}])
    assert data["choices"][0]["message"]["content"] == (
        "I see 3 images: 64x48 red, 32x32 blue, remote image. Echo: what are these?"
    )
    assert data["usage"]["prompt_tokens"] == math.ceil(len("what are these?") / 4) + 3 * 85


async def test_max_tokens_truncates_with_length(client: httpx.AsyncClient) -> None:
    data = await chat(client, max_tokens=3, messages=[user("a rather long message for three tokens")])
    assert data["choices"][0]["finish_reason"] == "length"
    assert data["choices"][0]["message"]["content"] == "Echo: a rath"
    assert data["usage"]["completion_tokens"] == 3


async def test_long_marker_makes_long_replies(client: httpx.AsyncClient) -> None:
    data = await chat(client, messages=[user("split me [[long:5000]]")])
    content = data["choices"][0]["message"]["content"]
    assert content.startswith("Echo: split me lorem ipsum")
    assert len(content) >= 5000


async def test_draw_request_calls_the_generating_image_tool(client: httpx.AsyncClient) -> None:
    data = await chat(
        client, tools=TOOLS, messages=[user("Please draw me a picture of a red fox at sunset!")]
    )
    choice = data["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    (call,) = choice["message"]["tool_calls"]
    assert re.fullmatch(r"call_[0-9a-f]{24}", call["id"])
    assert call["type"] == "function"
    assert call["function"]["name"] == "generate_image"
    assert json.loads(call["function"]["arguments"]) == {"prompt": "a red fox at sunset"}


async def test_named_tool_directive_and_plain_text(client: httpx.AsyncClient) -> None:
    data = await chat(client, tools=TOOLS, messages=[user("tool:get_weather Boston, MA")])
    call = data["choices"][0]["message"]["tool_calls"][0]["function"]
    assert call["name"] == "get_weather"
    assert json.loads(call["arguments"]) == {"location": "Boston, MA"}
    plain = await chat(client, tools=TOOLS, messages=[user("how are you")])
    assert plain["choices"][0]["message"]["content"] == "Echo: how are you"
    assert plain["choices"][0]["finish_reason"] == "stop"
    forced = await chat(
        client,
        tools=TOOLS,
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        messages=[user("Paris")],
    )
    assert json.loads(forced["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]) == {
        "location": "Paris"
    }
    none = await chat(client, tools=TOOLS, tool_choice="none", messages=[user("draw a cat")])
    assert none["choices"][0]["message"]["content"] == "Echo: draw a cat"


async def test_tool_result_follow_up_says_done(client: httpx.AsyncClient) -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
    messages = [
        user("weather?"),
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": '{"temperature": 22}'},
    ]
    data = await chat(client, tools=TOOLS, messages=messages)
    assert data["choices"][0]["message"]["content"] == 'Done: {"temperature": 22}'
    long = [*messages[:2], {"role": "tool", "tool_call_id": "call_1", "content": "z" * 500}]
    data = await chat(client, tools=TOOLS, messages=long)
    assert data["choices"][0]["message"]["content"] == "Done: " + "z" * 197 + "..."


def schema_format(schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": "out", "schema": schema, "strict": True}}


INTENT = {
    "type": "object",
    "properties": {
        "intent": {"type": "string", "enum": ["chat", "image", "question"]},
        "prompt": {"type": "string"},
        "language": {"type": "string"},
    },
    "required": ["intent", "prompt", "language"],
    "additionalProperties": False,
}


async def test_json_schema_enums_and_cleaned_prompt(client: httpx.AsyncClient) -> None:
    async def ask(text: str) -> dict[str, Any]:
        data = await chat(client, response_format=schema_format(INTENT), messages=[user(text)])
        parsed: dict[str, Any] = json.loads(data["choices"][0]["message"]["content"])
        return parsed

    assert await ask("Please draw a cat in space") == {
        "intent": "image",
        "prompt": "a cat in space",
        "language": "Please draw a cat in space",
    }
    assert (await ask("what is the capital of France?"))["intent"] == "question"
    assert (await ask("let's CHAT about an image"))["intent"] == "chat"  # first enum value present
    assert (await ask("hello there"))["intent"] == "chat"  # default: the first value


class Step(BaseModel):
    explanation: str
    output: str


class MathAnswer(BaseModel):
    steps: list[Step]
    final_answer: str
    confidence: float
    verified: bool
    tags: list[Literal["math", "other"]]
    note: str | None


async def test_json_schema_from_pydantic_validates(client: httpx.AsyncClient) -> None:
    data = await chat(
        client,
        response_format=schema_format(MathAnswer.model_json_schema()),
        messages=[user("9.11和9.8谁大")],
    )
    answer = MathAnswer.model_validate_json(data["choices"][0]["message"]["content"])
    assert answer.final_answer == "9.11和9.8谁大"
    assert len(answer.steps) == 1


async def test_invalid_json_marker_and_json_object(client: httpx.AsyncClient) -> None:
    broken = await chat(client, response_format=schema_format(INTENT), messages=[user("hi [[invalid-json]]")])
    content = broken["choices"][0]["message"]["content"]
    with pytest.raises(ValueError):
        json.loads(content)
    obj = await chat(client, response_format={"type": "json_object"}, messages=[user("answer in json: hi")])
    assert json.loads(obj["choices"][0]["message"]["content"]) == {"reply": "Echo: answer in json: hi"}
    refused = await client.post(
        "/v1/chat/completions",
        json={"model": "m", "response_format": {"type": "json_object"}, "messages": [user("hi")]},
    )
    assert refused.status_code == 400
    assert "must contain the word 'json'" in refused.json()["error"]["message"]


async def test_gpt_4o_image_returns_a_served_url(client: httpx.AsyncClient, sim: Simulator) -> None:
    data = await chat(client, model="gpt-4o-image", messages=[user("画只猫")])
    content = data["choices"][0]["message"]["content"]
    match = re.fullmatch(r"Generating image: 猫\n\n!\[image\]\((http://[^)]+\.png)\)", content)
    assert match, content
    assert match.group(1).startswith(f"{sim.base_url}/__sim/files/")
    async with httpx.AsyncClient() as anonymous:
        image = await anonymous.get(match.group(1))
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    assert decode_png(image.content).size == (64, 64)


async def test_gemini_image_model_returns_a_data_url_derived_from_input(client: httpx.AsyncClient) -> None:
    content = [
        {"type": "text", "text": "make the background red"},
        {"type": "image_url", "image_url": {"url": data_url(picture("blue", (32, 32)))}},
    ]
    data = await chat(
        client, model="gemini-2.5-flash-image-preview", messages=[{"role": "user", "content": content}]
    )
    text = data["choices"][0]["message"]["content"]
    lead, _, rest = text.partition("\n")
    assert lead == "Editing image: make the background red"
    match = re.fullmatch(r"!\[image\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", rest)
    assert match
    img = decode_png(base64.b64decode(match.group(1))).convert("RGB")
    r, _g, b = img.getpixel((1, 1))  # type: ignore[misc]
    assert b > 150 and r < 100  # the blue input shows through the tint
    assert (
        data["usage"]["completion_tokens"]
        == math.ceil(len("Editing image: make the background red\n") / 4) + 85
    )


async def test_validation_errors(client: httpx.AsyncClient) -> None:
    cases = [
        ({"messages": [user("hi")]}, "model is required"),
        ({"model": "m"}, "messages is required"),
        ({"model": "m", "messages": [{"role": "robot", "content": "x"}]}, "role"),
        (
            {
                "model": "m",
                "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}],
            },
            "image_url.url",
        ),
    ]
    for body, fragment in cases:
        response = await client.post("/v1/chat/completions", json=body)
        assert response.status_code == 400, body
        assert fragment in response.json()["error"]["message"]
    unavailable = await client.post(
        "/v1/chat/completions", json={"model": "unavailable-model", "messages": [user("x")]}
    )
    assert unavailable.status_code == 503
    assert "无可用渠道" in unavailable.json()["error"]["message"]

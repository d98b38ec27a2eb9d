"""POST /v1/messages (Anthropic format)."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
from httpx_sse import aconnect_sse

from .util import KEY, assert_request_id, picture, user

WEATHER_TOOL = {
    "name": "get_weather",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
IMAGE_TOOL = {
    "name": "generate_image",
    "input_schema": {"type": "object", "properties": {"prompt": {"type": "string"}}, "required": ["prompt"]},
}


async def messages(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    body = {"model": "claude-3-5-sonnet-20241022", "max_tokens": 1024, **body}
    response = await client.post("/v1/messages", json=body)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def stream(client: httpx.AsyncClient, **body: Any) -> list[tuple[str, dict[str, Any]]]:
    body = {"model": "claude-3-5-sonnet-20241022", "max_tokens": 1024, "stream": True, **body}
    async with aconnect_sse(client, "POST", "/v1/messages", json=body) as source:
        return [(e.event, json.loads(e.data)) async for e in source.aiter_sse()]


async def test_plain_message(client: httpx.AsyncClient) -> None:
    data = await messages(client, system="be nice", messages=[user("Hello, world")])
    assert data["type"] == "message"
    assert data["role"] == "assistant"
    assert data["id"].startswith("msg_")
    assert data["content"] == [{"type": "text", "text": "Echo: Hello, world"}]
    assert data["stop_reason"] == "end_turn"
    assert data["usage"] == {"input_tokens": 5, "output_tokens": 5}


async def test_max_tokens_is_required_with_anthropic_error_shape(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/messages", json={"model": "claude", "messages": [user("hi")]})
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == "invalid_request_error"
    assert body["error"]["message"].startswith("max_tokens: Field required")
    assert_request_id(body["error"]["message"])


async def test_x_api_key_with_anthropic_version(client: httpx.AsyncClient) -> None:
    headers = {"x-api-key": KEY, "anthropic-version": "2023-06-01", "Authorization": ""}
    async with httpx.AsyncClient(base_url=str(client.base_url), headers=headers) as sdk_like:
        response = await sdk_like.post(
            "/v1/messages", json={"model": "claude", "max_tokens": 10, "messages": [user("hi")]}
        )
    assert response.status_code == 200


async def test_base64_image_blocks_are_described(client: httpx.AsyncClient) -> None:
    image = {
        "type": "image",
        "source": {
            "type": "base64",
            "media_type": "image/png",
            "data": base64.b64encode(picture("green", (20, 10))).decode(),
        },
    }
    content = [image, {"type": "text", "text": "What is in this image?"}]
    data = await messages(client, messages=[{"role": "user", "content": content}])
    assert data["content"][0]["text"] == "I see 1 image: 20x10 green. Echo: What is in this image?"


async def test_tool_use_and_tool_result(client: httpx.AsyncClient) -> None:
    data = await messages(client, tools=[WEATHER_TOOL, IMAGE_TOOL], messages=[user("draw a lighthouse")])
    assert data["stop_reason"] == "tool_use"
    text, tool_use = data["content"]
    assert text["type"] == "text"
    assert tool_use["type"] == "tool_use"
    assert tool_use["id"].startswith("toolu_")
    assert tool_use["name"] == "generate_image"
    assert tool_use["input"] == {"prompt": "a lighthouse"}
    follow_up = [
        user("draw a lighthouse"),
        {"role": "assistant", "content": data["content"]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": tool_use["id"], "content": "image sent"}],
        },
    ]
    done = await messages(client, tools=[WEATHER_TOOL, IMAGE_TOOL], messages=follow_up)
    assert done["content"] == [{"type": "text", "text": "Done: image sent"}]
    forced = await messages(
        client,
        tools=[WEATHER_TOOL],
        tool_choice={"type": "tool", "name": "get_weather"},
        messages=[user("Oslo")],
    )
    assert forced["content"][1]["input"] == {"city": "Oslo"}


async def test_stream_event_sequence_and_usage(client: httpx.AsyncClient) -> None:
    body = {"messages": [user("tell me something in a few words")]}
    events = await stream(client, **body)
    names = [name for name, _ in events]
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert set(names[3:-3]) == {"content_block_delta"}
    assert len(names[3:-3]) >= 2
    assert all(name == data["type"] for name, data in events)
    text = "".join(d["delta"]["text"] for n, d in events if n == "content_block_delta")
    plain = await messages(client, **body)
    assert text == plain["content"][0]["text"]
    assert events[0][1]["message"]["usage"]["input_tokens"] == plain["usage"]["input_tokens"]
    assert events[-2][1]["usage"]["output_tokens"] == plain["usage"]["output_tokens"]
    assert events[-2][1]["delta"]["stop_reason"] == "end_turn"


async def test_stream_tool_use_input_json_delta(client: httpx.AsyncClient) -> None:
    events = await stream(client, tools=[IMAGE_TOOL], messages=[user("tool:generate_image a tiny robot")])
    starts = [d for n, d in events if n == "content_block_start"]
    assert [s["content_block"]["type"] for s in starts] == ["text", "tool_use"]
    partial = "".join(
        d["delta"]["partial_json"] for n, d in events if n == "content_block_delta" and d["index"] == 1
    )
    assert json.loads(partial) == {"prompt": "a tiny robot"}
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"


async def test_thinking_block_and_max_tokens_stop(client: httpx.AsyncClient) -> None:
    data = await messages(
        client,
        thinking={"type": "enabled", "budget_tokens": 1024},
        messages=[user("think")],
    )
    assert [b["type"] for b in data["content"]] == ["thinking", "text"]
    assert data["content"][0]["signature"]
    short = await messages(client, max_tokens=2, messages=[user("this will not fit in two tokens")])
    assert short["stop_reason"] == "max_tokens"
    assert short["content"][0]["text"] == "Echo: th"  # 2 tokens = 8 chars

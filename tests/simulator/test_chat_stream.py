"""SSE streaming on /v1/chat/completions."""

from __future__ import annotations

import json
from typing import Any

import httpx
from httpx_sse import aconnect_sse

from .test_chat import TOOLS
from .util import user


async def events(client: httpx.AsyncClient, body: dict[str, Any]) -> list[str]:
    body = {"model": "gpt-4o-mini", "stream": True, **body}
    async with aconnect_sse(client, "POST", "/v1/chat/completions", json=body) as source:
        assert source.response.headers["content-type"].startswith("text/event-stream")
        return [event.data async for event in source.aiter_sse()]


async def test_stream_shape_and_usage_chunk(client: httpx.AsyncClient) -> None:
    body = {
        "messages": [user("one"), {"role": "assistant", "content": "x"}, user("stream me a few words please")]
    }
    data = await events(client, body)
    assert data[-1] == "[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    assert len({(c["id"], c["created"]) for c in chunks}) == 1
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    content_chunks = chunks[1:-2]
    assert len(content_chunks) >= 3
    text = "".join(c["choices"][0]["delta"]["content"] for c in content_chunks)
    finish, usage = chunks[-2], chunks[-1]
    assert finish["choices"][0] == {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}
    assert usage["choices"] == []

    plain = (await client.post("/v1/chat/completions", json={"model": "gpt-4o-mini", **body})).json()
    assert (
        text
        == plain["choices"][0]["message"]["content"]
        == "Echo: stream me a few words please [history: 2 messages]"
    )
    assert usage["usage"] == plain["usage"]


async def test_usage_chunk_only_omitted_when_turned_off(client: httpx.AsyncClient) -> None:
    on = await events(client, {"messages": [user("hi")], "stream_options": {"include_usage": True}})
    off = await events(client, {"messages": [user("hi")], "stream_options": {"include_usage": False}})
    assert json.loads(on[-2])["choices"] == []
    assert json.loads(off[-2])["choices"][0]["finish_reason"] == "stop"
    assert all("usage" not in json.loads(d) for d in off[:-1])


async def test_tool_call_deltas_reassemble_by_index(client: httpx.AsyncClient) -> None:
    data = await events(client, {"tools": TOOLS, "messages": [user("paint a blue whale")]})
    chunks = [json.loads(d) for d in data[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": None}
    calls: dict[int, dict[str, str]] = {}
    fragments = 0
    for chunk in chunks:
        if not chunk["choices"]:
            continue
        for delta in chunk["choices"][0]["delta"].get("tool_calls", []):
            slot = calls.setdefault(delta["index"], {"arguments": ""})
            if "id" in delta:
                slot["id"] = delta["id"]
                slot["name"] = delta["function"]["name"]
            slot["arguments"] += delta["function"]["arguments"]
            fragments += 1
    assert fragments >= 3
    assert list(calls) == [0]
    assert calls[0]["id"].startswith("call_")
    assert calls[0]["name"] == "generate_image"
    assert json.loads(calls[0]["arguments"]) == {"prompt": "a blue whale"}
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"


async def test_image_model_streams_markdown_image_whole(client: httpx.AsyncClient) -> None:
    data = await events(client, {"model": "gemini-2.5-flash-image-preview", "messages": [user("draw a cat")]})
    pieces = [
        json.loads(d)["choices"][0]["delta"].get("content") or ""
        for d in data[:-1]
        if json.loads(d)["choices"]
    ]
    image_pieces = [p for p in pieces if "![image](" in p]
    assert len(image_pieces) == 1
    assert image_pieces[0].rstrip().endswith(")")
    assert "".join(pieces).startswith("Generating image: a cat\n![image](data:image/png;base64,")

"""The Anthropic Messages format: conversion from OpenAI shapes, JSON and SSE answers."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from bot import errors
from bot.gateway.anthropic import StreamReader, convert_messages, request_body, result_of
from tests.unit.gateway.conftest import MakeClient, StallStream, json_reply

PNG_URL = "data:image/png;base64,iVBORw0KGgo="


def event(kind: str, **payload: Any) -> str:
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **payload})}\n\n"


def anthropic_stream(*events: str) -> httpx.Response:
    return httpx.Response(
        200, headers={"content-type": "text/event-stream"}, content="".join(events).encode()
    )


START = event(
    "message_start",
    message={
        "id": "msg_1",
        "model": "claude-3-5-sonnet-20241022",
        "usage": {"input_tokens": 25, "output_tokens": 1},
    },
)


def text_delta(text: str, index: int = 0) -> str:
    return event("content_block_delta", index=index, delta={"type": "text_delta", "text": text})


def test_request_body_moves_system_out_and_converts_images_and_tools() -> None:
    body = request_body(
        "claude-x",
        [
            {"role": "system", "content": "Be brief."},
            {"role": "system", "content": "Recalled: cats."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what?"},
                    {"type": "image_url", "image_url": {"url": PNG_URL}},
                ],
            },
        ],
        max_tokens=512,
        tools=[
            {
                "type": "function",
                "function": {"name": "draw", "description": "d", "parameters": {"type": "object"}},
            }
        ],
        tool_choice="none",
    )
    assert body["system"] == "Be brief.\n\nRecalled: cats."
    assert body["max_tokens"] == 512
    [turn] = body["messages"]
    assert turn["content"] == [
        {"type": "text", "text": "what?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
    ]
    assert body["tools"] == [{"name": "draw", "input_schema": {"type": "object"}, "description": "d"}]
    assert body["tool_choice"] == {"type": "none"}


def test_tool_calls_and_results_become_tool_use_and_tool_result_blocks() -> None:
    turns = convert_messages(
        [
            {"role": "assistant", "content": "an answer whose question left the window"},
            {"role": "user", "content": "draw a cat"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "toolu_1",
                        "type": "function",
                        "function": {"name": "draw", "arguments": '{"prompt": "cat"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "toolu_1", "content": "sent"},
            {"role": "user", "content": "thanks"},
        ]
    )
    assert [t["role"] for t in turns] == ["user", "assistant", "user"]
    assert turns[1]["content"] == [
        {"type": "tool_use", "id": "toolu_1", "name": "draw", "input": {"prompt": "cat"}}
    ]
    assert turns[2]["content"] == [
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sent"},
        {"type": "text", "text": "thanks"},
    ]


def test_https_images_become_url_sources_and_bad_arguments_an_empty_input() -> None:
    turns = convert_messages(
        [
            {
                "role": "user",
                "content": [{"type": "image_url", "image_url": {"url": "https://x.test/a.png"}}],
            },
            {
                "role": "assistant",
                "tool_calls": [{"id": "t", "function": {"name": "f", "arguments": "{oops"}}],
            },
        ]
    )
    assert turns[0]["content"] == [
        {"type": "image", "source": {"type": "url", "url": "https://x.test/a.png"}}
    ]
    assert turns[1]["content"][0]["input"] == {}


def test_json_answer_with_text_and_tool_use() -> None:
    result = result_of(
        {
            "id": "msg_9",
            "model": "claude-x",
            "content": [
                {"type": "text", "text": "I'll draw."},
                {"type": "tool_use", "id": "toolu_9", "name": "draw", "input": {"prompt": "cat"}},
            ],
            "stop_reason": "tool_use",
            "usage": {"input_tokens": 10, "output_tokens": 12},
        },
        "claude-x",
        "req",
    )
    assert (result.text, result.request_id, result.finish_reason) == ("I'll draw.", "msg_9", "tool_calls")
    assert (result.input_tokens, result.output_tokens) == (10, 12)
    [call] = result.tool_calls
    assert (call.id, call.function.name, json.loads(call.function.arguments)) == (
        "toolu_9",
        "draw",
        {"prompt": "cat"},
    )
    with pytest.raises(errors.MalformedResponse):
        result_of({"type": "message"}, "claude-x", "req")


async def test_stream_reader_takes_input_tokens_from_start_and_the_last_output_count() -> None:
    seen: list[str] = []

    async def on_text(text: str) -> None:
        seen.append(text)

    reader = StreamReader("claude-x", on_text)
    for raw in [
        START,
        event("ping"),
        event("content_block_start", index=0, content_block={"type": "text", "text": ""}),
        text_delta("Hello"),
        text_delta(", you"),
        event("something_new", whatever=1),
        event(
            "content_block_start",
            index=1,
            content_block={"type": "tool_use", "id": "toolu_2", "name": "draw", "input": {}},
        ),
        event("content_block_delta", index=1, delta={"type": "input_json_delta", "partial_json": '{"prom'}),
        event(
            "content_block_delta", index=1, delta={"type": "input_json_delta", "partial_json": 'pt": "fox"}'}
        ),
        event("message_delta", delta={"stop_reason": "tool_use"}, usage={"output_tokens": 7}),
        event("message_delta", delta={}, usage={"output_tokens": 15}),
    ]:
        assert not await reader.feed(raw.split("data: ", 1)[1].strip())
    assert await reader.feed(json.dumps({"type": "message_stop"}))
    result = reader.finish()
    assert seen == ["Hello", "Hello, you"]
    assert (result.input_tokens, result.output_tokens, result.request_id) == (25, 15, "msg_1")
    assert result.complete and result.finish_reason == "tool_calls"
    assert json.loads(result.tool_calls[0].function.arguments) == {"prompt": "fox"}


async def test_stream_error_before_any_text_is_a_gateway_error_after_text_a_partial_answer() -> None:
    async def ignore(_: str) -> None:
        return None

    overloaded = json.dumps({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    with pytest.raises(errors.Unavailable):
        await StreamReader("c", ignore).feed(overloaded)
    reader = StreamReader("c", ignore)
    await reader.feed(
        json.dumps({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}})
    )
    assert await reader.feed(overloaded)
    assert reader.finish().text == "Hi" and not reader.result.complete


async def test_stream_reader_skips_fields_of_the_wrong_shape() -> None:
    seen: list[str] = []

    async def on_text(text: str) -> None:
        seen.append(text)

    reader = StreamReader("claude-x", on_text)
    for odd in (
        {"type": "message_start", "message": "not an object"},
        {"type": "content_block_start", "index": 0, "content_block": None},
        {"type": "content_block_delta", "index": 0, "delta": ["not", "an", "object"]},
        {"type": "message_delta", "delta": "end_turn", "usage": {"output_tokens": 2}},
    ):
        assert not await reader.feed(json.dumps(odd))
    await reader.feed(
        json.dumps({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "ok"}})
    )
    assert await reader.feed(json.dumps({"type": "message_stop"}))
    result = reader.finish()
    assert (result.text, result.output_tokens, result.complete, seen) == ("ok", 2, True, ["ok"])


async def test_client_streams_messages_with_the_version_header(make_client: MakeClient) -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return anthropic_stream(
            START,
            text_delta("Hi there"),
            event("message_delta", delta={"stop_reason": "end_turn"}, usage={"output_tokens": 3}),
            event("message_stop"),
        )

    texts: list[str] = []

    async def on_text(text: str) -> None:
        texts.append(text)

    client = make_client(handler)
    result = await client.messages(
        "claude-x", [{"role": "user", "content": "hi"}], max_tokens=100, on_text=on_text
    )
    assert (result.text, result.input_tokens, result.output_tokens) == ("Hi there", 25, 3)
    assert result.complete and texts == ["Hi there"]
    [request] = sent
    assert request.url.path == "/v1/messages"
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert request.headers["authorization"].startswith("Bearer ")
    body = json.loads(request.content)
    assert body["stream"] is True and body["max_tokens"] == 100


async def test_client_maps_an_anthropic_error_body_and_reads_a_json_answer(make_client: MakeClient) -> None:
    answers = iter(
        [
            json_reply(
                {
                    "type": "error",
                    "error": {"type": "invalid_request_error", "message": "max_tokens: Field required"},
                },
                400,
            ),
            json_reply(
                {
                    "id": "msg_2",
                    "content": [{"type": "text", "text": "ok"}],
                    "stop_reason": "end_turn",
                    "usage": {"input_tokens": 4, "output_tokens": 1},
                }
            ),
        ]
    )
    client = make_client(lambda _request: next(answers))
    with pytest.raises(errors.BadRequest, match="max_tokens"):
        await client.messages("claude-x", [{"role": "user", "content": "hi"}], max_tokens=10)
    result = await client.messages("claude-x", [{"role": "user", "content": "hi"}], max_tokens=10)
    assert (result.text, result.request_id, result.total_tokens) == ("ok", "msg_2", 5)


async def test_a_stream_that_stops_without_message_stop_is_incomplete(make_client: MakeClient) -> None:
    client = make_client(lambda _r: anthropic_stream(START, text_delta("partial")))

    async def ignore(_: str) -> None:
        return None

    result = await client.messages(
        "claude-x", [{"role": "user", "content": "hi"}], max_tokens=10, on_text=ignore
    )
    assert result.text == "partial" and not result.complete


async def test_a_stream_stalling_after_text_keeps_it_like_an_openai_stream(make_client: MakeClient) -> None:
    def stalled(*events: str) -> httpx.Response:
        stream = StallStream("".join(events).encode())
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=stream)

    async def ignore(_: str) -> None:
        return None

    messages = [{"role": "user", "content": "hi"}]
    result = await make_client(lambda _r: stalled(START, text_delta("Half an ans"))).messages(
        "claude-x", messages, max_tokens=10, on_text=ignore
    )
    assert result.text == "Half an ans" and not result.complete
    assert result.input_tokens == 25
    with pytest.raises(errors.GatewayTimeout):
        await make_client(lambda _r: stalled(START)).messages(
            "claude-x", messages, max_tokens=10, on_text=ignore
        )

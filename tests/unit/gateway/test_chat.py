"""Chat completions: plain JSON and SSE streaming."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import httpx
import pytest

from bot import errors
from tests.unit.gateway.conftest import (
    BASE,
    KEY,
    MakeClient,
    StallStream,
    chunk,
    json_reply,
    sse_body,
    sse_reply,
    usage_chunk,
)

MESSAGES = [{"role": "user", "content": "Hello!"}]

COMPLETION = {
    "id": "chatcmpl-9p5U",
    "object": "chat.completion",
    "created": 1721962870,
    "model": "gpt-4o-mini-2024-07-18",
    "system_fingerprint": "fp_1",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello! How can I help?", "reasoning_content": None},
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 19, "completion_tokens": 9, "total_tokens": 28, "prompt_tokens_details": {}},
}


class TextSink:
    def __init__(self) -> None:
        self.seen: list[str] = []

    async def __call__(self, text: str) -> None:
        self.seen.append(text)


async def test_plain_chat_sends_key_and_parses_usage(make_client: MakeClient) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return json_reply(COMPLETION)

    result = await make_client(handler).chat("gpt-4o-mini", MESSAGES, temperature=0.2)

    (request,) = seen
    assert str(request.url) == f"{BASE}/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    body = json.loads(request.content)
    assert body == {"model": "gpt-4o-mini", "messages": MESSAGES, "temperature": 0.2}
    assert result.text == "Hello! How can I help?"
    assert result.model == "gpt-4o-mini-2024-07-18"
    assert (result.input_tokens, result.output_tokens, result.total_tokens) == (19, 9, 28)
    assert result.finish_reason == "stop"
    assert result.complete
    assert result.tool_calls == []


async def test_plain_chat_uses_the_chat_read_timeout(make_client: MakeClient) -> None:
    timeouts: list[dict[str, float]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        timeouts.append(request.extensions["timeout"])
        return json_reply(COMPLETION)

    await make_client(handler).chat("gpt-4o-mini", MESSAGES)
    assert timeouts[0]["read"] == 120.0
    assert timeouts[0]["connect"] == 10.0


async def test_plain_chat_without_usage_counts_zero(make_client: MakeClient) -> None:
    body = {**COMPLETION, "usage": None}
    result = await make_client(lambda _r: json_reply(body)).chat("m", MESSAGES)
    assert (result.input_tokens, result.output_tokens) == (0, 0)


async def test_plain_chat_with_text_parts_and_tool_calls(make_client: MakeClient) -> None:
    body = {
        "choices": [
            {
                "message": {
                    "role": "assistant",
                    "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
                        }
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ]
    }
    result = await make_client(lambda _r: json_reply(body)).chat("m", MESSAGES)
    assert result.text == "ab"
    assert result.model == "m"
    assert [(t.id, t.function.name, t.function.arguments) for t in result.tool_calls] == [
        ("call_1", "get_weather", '{"city":"Oslo"}')
    ]


async def test_plain_chat_refusal_is_the_text(make_client: MakeClient) -> None:
    body = {"choices": [{"message": {"content": None, "refusal": "I can't help with that."}}]}
    result = await make_client(lambda _r: json_reply(body)).chat("m", MESSAGES)
    assert result.text == "I can't help with that."


async def test_plain_chat_without_choices_is_malformed(make_client: MakeClient) -> None:
    with pytest.raises(errors.MalformedResponse):
        await make_client(lambda _r: json_reply({"id": "x", "choices": []})).chat("m", MESSAGES)
    with pytest.raises(errors.MalformedResponse):
        await make_client(lambda _r: json_reply({"id": "x"})).chat("m", MESSAGES)


# --- streaming ---------------------------------------------------------------------------

FULL_STREAM = (
    chunk("", role="assistant"),
    chunk("Hello"),
    chunk("! How can I help?"),
    chunk(finish="stop"),
    usage_chunk(19, 9),
    "[DONE]",
)


async def test_stream_assembles_text_usage_and_reports_growth(make_client: MakeClient) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return sse_reply(*FULL_STREAM)

    sink = TextSink()
    result = await make_client(handler).chat("gpt-4o-mini", MESSAGES, on_text=sink)

    body = json.loads(seen[0].content)
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert seen[0].headers["authorization"] == f"Bearer {KEY}"
    assert sink.seen == ["Hello", "Hello! How can I help?"]
    assert result.text == "Hello! How can I help?"
    assert (result.input_tokens, result.output_tokens) == (19, 9)
    assert result.finish_reason == "stop"
    assert result.request_id == "chatcmpl-1"
    assert result.complete


async def test_stream_usage_on_the_last_content_chunk_is_kept(make_client: MakeClient) -> None:
    last = chunk("!", finish="stop")
    last["usage"] = {"prompt_tokens": 5, "completion_tokens": 2}
    result = await make_client(lambda _r: sse_reply(chunk("Hi"), last, "[DONE]")).chat(
        "m", MESSAGES, on_text=TextSink()
    )
    assert (result.text, result.input_tokens, result.output_tokens) == ("Hi!", 5, 2)


async def test_stream_ignores_comments_event_lines_and_bad_chunks(make_client: MakeClient) -> None:
    content = (
        b": keep-alive\n\n"
        b"event: message\ndata: " + json.dumps(chunk("Hi")).encode() + b"\n\n"
        b"data: {not json\n\n"
        b"data: 42\n\n"
        b"data: " + json.dumps(chunk(" there", finish="stop")).encode() + b"\n\n"
        b"data: [DONE]\n\n"
    )

    def handler(_r: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=content)

    result = await make_client(handler).chat("m", MESSAGES, on_text=TextSink())
    assert result.text == "Hi there"
    assert result.complete


async def test_stream_ending_without_done_or_finish_is_incomplete(make_client: MakeClient) -> None:
    result = await make_client(lambda _r: sse_reply(chunk("Hel"), chunk("lo"))).chat(
        "m", MESSAGES, on_text=TextSink()
    )
    assert result.text == "Hello"
    assert not result.complete


async def test_stream_without_done_but_with_finish_reason_is_complete(make_client: MakeClient) -> None:
    result = await make_client(lambda _r: sse_reply(chunk("Hello"), chunk(finish="stop"))).chat(
        "m", MESSAGES, on_text=TextSink()
    )
    assert result.text == "Hello"
    assert result.complete


class CutStream(httpx.AsyncByteStream):
    """Sends some bytes, then the connection drops."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self._data
        raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")


def cut_reply(*events: dict[str, object] | str) -> httpx.Response:
    return httpx.Response(
        200, headers={"content-type": "text/event-stream"}, stream=CutStream(sse_body(*events))
    )


async def test_stream_cut_after_some_text_returns_it_incomplete(make_client: MakeClient) -> None:
    sink = TextSink()
    result = await make_client(lambda _r: cut_reply(chunk("Once upon"), chunk(" a time"))).chat(
        "m", MESSAGES, on_text=sink
    )
    assert result.text == "Once upon a time"
    assert not result.complete
    assert sink.seen[-1] == "Once upon a time"


async def test_stream_cut_after_finish_reason_is_complete(make_client: MakeClient) -> None:
    result = await make_client(lambda _r: cut_reply(chunk("Done."), chunk(finish="stop"))).chat(
        "m", MESSAGES, on_text=TextSink()
    )
    assert result.text == "Done."
    assert result.complete


async def test_stream_cut_before_any_text_is_unavailable(make_client: MakeClient) -> None:
    with pytest.raises(errors.Unavailable):
        await make_client(lambda _r: cut_reply(chunk("", role="assistant"))).chat(
            "m", MESSAGES, on_text=TextSink()
        )


async def test_stream_tool_call_fragments_are_assembled_by_index(make_client: MakeClient) -> None:
    def call(index: int, **fields: object) -> dict[str, object]:
        return {"index": index, **fields}

    events = (
        chunk(
            None,
            role="assistant",
            tool_calls=[call(0, id="call_a", type="function", function={"name": "weather", "arguments": ""})],
        ),
        chunk(
            None,
            tool_calls=[
                call(1, id="call_b", type="function", function={"name": "time", "arguments": '{"tz"'})
            ],
        ),
        chunk(None, tool_calls=[call(0, function={"arguments": '{"city":'})]),
        chunk(None, tool_calls=[call(0, function={"arguments": '"Oslo"}'})]),
        chunk(None, tool_calls=[call(1, function={"arguments": ':"UTC"}'})]),
        chunk(finish="tool_calls"),
        "[DONE]",
    )
    sink = TextSink()
    result = await make_client(lambda _r: sse_reply(*events)).chat("m", MESSAGES, on_text=sink)
    assert sink.seen == []
    assert result.finish_reason == "tool_calls"
    assert [(t.id, t.function.name, json.loads(t.function.arguments)) for t in result.tool_calls] == [
        ("call_a", "weather", {"city": "Oslo"}),
        ("call_b", "time", {"tz": "UTC"}),
    ]


async def test_stream_rejected_before_streaming_maps_the_error(make_client: MakeClient) -> None:
    def handler(_r: httpx.Request) -> httpx.Response:
        return json_reply(
            {"error": {"message": "无效的令牌 (request id: abc)", "type": "new_api_error"}}, 401
        )

    with pytest.raises(errors.AuthError):
        await make_client(handler).chat("m", MESSAGES, on_text=TextSink())


async def test_stream_answered_with_json_is_malformed(make_client: MakeClient) -> None:
    with pytest.raises(errors.MalformedResponse):
        await make_client(lambda _r: json_reply(COMPLETION)).chat("m", MESSAGES, on_text=TextSink())


async def test_stream_answered_with_html_is_malformed(make_client: MakeClient) -> None:
    def handler(_r: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/html"}, text="<html>console</html>")

    with pytest.raises(errors.MalformedResponse):
        await make_client(handler).chat("m", MESSAGES, on_text=TextSink())


async def test_stream_read_timeout_is_gateway_timeout(make_client: MakeClient) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(errors.GatewayTimeout):
        await make_client(handler).chat("m", MESSAGES, on_text=TextSink())


async def test_stream_logs_never_show_the_key(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await make_client(lambda _r: sse_reply(*FULL_STREAM)).chat("m", MESSAGES, on_text=TextSink())
    with pytest.raises(errors.Unavailable):
        await make_client(lambda _r: cut_reply(chunk("", role="assistant"))).chat(
            "m", MESSAGES, on_text=TextSink()
        )
    assert caplog.records
    assert KEY not in caplog.text


async def test_stream_stalling_after_some_text_returns_it_incomplete(make_client: MakeClient) -> None:
    def handler(_r: httpx.Request) -> httpx.Response:
        stream = StallStream(sse_body(chunk("Half an ans"), chunk("wer")))
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=stream)

    result = await make_client(handler).chat("m", MESSAGES, on_text=TextSink())
    assert result.text == "Half an answer"
    assert not result.complete


async def test_stream_stalling_before_any_text_is_gateway_timeout(make_client: MakeClient) -> None:
    def handler(_r: httpx.Request) -> httpx.Response:
        stream = StallStream(sse_body(chunk("", role="assistant")))
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=stream)

    with pytest.raises(errors.GatewayTimeout):
        await make_client(handler).chat("m", MESSAGES, on_text=TextSink())


async def test_stream_skips_chunks_of_the_wrong_shape(make_client: MakeClient) -> None:
    events = (
        chunk("Still "),
        {"id": "chatcmpl-1", "choices": ["not a choice", {"index": 0, "delta": "not a delta"}]},
        {"choices": "nope", "usage": {"prompt_tokens": "many", "completion_tokens": None}},
        chunk(None, tool_calls=[{"index": None, "id": "call_a", "function": "not an object"}, "junk"]),
        chunk("here", finish="stop"),
        "[DONE]",
    )
    result = await make_client(lambda _r: sse_reply(*events)).chat("m", MESSAGES, on_text=TextSink())
    assert result.text == "Still here"
    assert result.complete
    assert (result.input_tokens, result.output_tokens) == (0, 0)
    assert [call.id for call in result.tool_calls] == ["call_a"]


async def test_stream_refusal_is_the_text_as_in_a_plain_reply(make_client: MakeClient) -> None:
    sink = TextSink()
    events = (chunk(None, refusal="I can't help "), chunk(None, refusal="with that."), chunk(finish="stop"))
    result = await make_client(lambda _r: sse_reply(*events, "[DONE]")).chat("m", MESSAGES, on_text=sink)
    assert result.text == "I can't help with that."
    assert sink.seen[-1] == result.text

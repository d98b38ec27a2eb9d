"""POST /v1/messages: Anthropic Messages, JSON and SSE, with images, tools and thinking."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .bodies import read_model_request
from .conversation import BadRequest, Conversation, from_anthropic
from .errors import ApiError, anthropic_error
from .replies import decide, new_call_id
from .sse import Event, even_pieces, stream_answer, text_pieces
from .state import sim_state
from .tokens import text_tokens

SIGNATURE = "sim-signature"


@dataclass
class Reply:
    blocks: list[dict[str, Any]]
    stop_reason: str
    input_tokens: int
    output_tokens: int


def _block_tokens(block: dict[str, Any]) -> int:
    if block["type"] == "text":
        return text_tokens(block["text"])
    if block["type"] == "thinking":
        return text_tokens(block["thinking"])
    return text_tokens(block["name"] + json.dumps(block["input"], ensure_ascii=False))


def compose(body: dict[str, Any], conv: Conversation, max_tokens: int) -> Reply:
    blocks: list[dict[str, Any]] = []
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") == "enabled":
        subject = conv.last.text if conv.last else ""
        blocks.append({"type": "thinking", "thinking": f"Thinking about: {subject}", "signature": SIGNATURE})
    decision = decide(conv)
    stop_reason = "end_turn"
    if isinstance(decision, list):
        names = ", ".join(dict.fromkeys(call.name for call in decision))
        blocks.append({"type": "text", "text": f"I'll use the {names} tool."})
        blocks += [
            {"type": "tool_use", "id": new_call_id("toolu_"), "name": call.name, "input": call.arguments}
            for call in decision
        ]
        stop_reason = "tool_use"
    else:
        text = decision.text
        if text_tokens(text) > max_tokens:
            text, stop_reason = text[: max_tokens * 4], "max_tokens"
        blocks.append({"type": "text", "text": text})
    output_tokens = sum(_block_tokens(b) for b in blocks)
    return Reply(blocks, stop_reason, conv.prompt_tokens(), output_tokens)


def _block_events(index: int, block: dict[str, Any]) -> Iterator[Event]:
    def delta(payload: dict[str, Any]) -> Event:
        return Event.json(
            {"type": "content_block_delta", "index": index, "delta": payload}, "content_block_delta"
        )

    if block["type"] == "text":
        start: dict[str, Any] = {"type": "text", "text": ""}
    elif block["type"] == "thinking":
        start = {"type": "thinking", "thinking": ""}
    else:
        start = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
    yield Event.json(
        {"type": "content_block_start", "index": index, "content_block": start}, "content_block_start"
    )
    if index == 0:
        yield Event.json({"type": "ping"}, "ping")
    if block["type"] == "text":
        for piece in text_pieces(block["text"]):
            yield delta({"type": "text_delta", "text": piece})
    elif block["type"] == "thinking":
        for piece in text_pieces(block["thinking"]):
            yield delta({"type": "thinking_delta", "thinking": piece})
        yield delta({"type": "signature_delta", "signature": block["signature"]})
    else:
        yield delta({"type": "input_json_delta", "partial_json": ""})
        for piece in even_pieces(json.dumps(block["input"], ensure_ascii=False)):
            yield delta({"type": "input_json_delta", "partial_json": piece})
    yield Event.json({"type": "content_block_stop", "index": index}, "content_block_stop")


def _events(message: dict[str, Any], reply: Reply) -> Iterator[Event]:
    start = {
        **message,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": reply.input_tokens, "output_tokens": 1},
    }
    yield Event.json({"type": "message_start", "message": start}, "message_start")
    for index, block in enumerate(reply.blocks):
        yield from _block_events(index, block)
    yield Event.json(
        {
            "type": "message_delta",
            "delta": {"stop_reason": reply.stop_reason, "stop_sequence": None},
            "usage": {"output_tokens": reply.output_tokens},
        },
        "message_delta",
    )
    yield Event.json({"type": "message_stop"}, "message_stop")


async def messages(request: web.Request) -> web.StreamResponse:
    state = sim_state(request)

    def bad(message: str) -> ApiError:
        return anthropic_error(request, 400, message)

    body, model = await read_model_request(request, bad, missing="model: Field required")
    max_tokens = body.get("max_tokens")
    if max_tokens is None:
        raise bad("max_tokens: Field required")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise bad("max_tokens: Input should be a valid integer greater than or equal to 1")
    try:
        conv = from_anthropic(body)
    except BadRequest as exc:
        raise bad(str(exc)) from exc
    reply = compose(body, conv, max_tokens)
    message = {"id": f"msg_{uuid.uuid4().hex[:24]}", "type": "message", "role": "assistant", "model": model}
    if not body.get("stream"):
        state.ledger.add("messages", input_tokens=reply.input_tokens, output_tokens=reply.output_tokens)
        return web.json_response(
            {
                **message,
                "content": reply.blocks,
                "stop_reason": reply.stop_reason,
                "stop_sequence": None,
                "usage": {"input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens},
            }
        )
    response, completed = await stream_answer(request, _events(message, reply))
    if completed:
        state.ledger.add("messages", input_tokens=reply.input_tokens, output_tokens=reply.output_tokens)
    return response

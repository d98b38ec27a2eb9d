"""The Anthropic Messages format (POST /v1/messages): request conversion and answer reading.

The bot builds every conversation in the OpenAI shape (system / user / assistant / tool
messages, `image_url` parts, function tools). This module translates that shape to
Anthropic's on the way out and reads Anthropic's answers, JSON or SSE, back into the
same `ChatResult`, so handlers never care which format a model speaks.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from bot import errors
from bot.gateway.types import ChatResult, OnText, ToolCall, ToolCallFunction, as_int

log = logging.getLogger(__name__)

ANTHROPIC_VERSION = "2023-06-01"

_STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
}
_TOOL_CHOICE = {"auto": {"type": "auto"}, "none": {"type": "none"}, "required": {"type": "any"}}


def request_body(
    model: str,
    messages: Sequence[dict[str, Any]],
    *,
    max_tokens: int,
    tools: Sequence[dict[str, Any]] | None = None,
    tool_choice: str | None = None,
) -> dict[str, Any]:
    """An Anthropic request from OpenAI-shaped messages and tools."""
    system = [_text_of(m.get("content")) for m in messages if m.get("role") in ("system", "developer")]
    body: dict[str, Any] = {
        "model": model,
        "max_tokens": max_tokens,
        "messages": convert_messages([m for m in messages if m.get("role") not in ("system", "developer")]),
    }
    if any(system):
        body["system"] = "\n\n".join(s for s in system if s)
    if tools:
        body["tools"] = [_tool(t) for t in tools]
        if tool_choice in _TOOL_CHOICE:
            body["tool_choice"] = _TOOL_CHOICE[tool_choice]
    return body


def convert_messages(messages: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """user/assistant/tool messages → alternating Anthropic turns that start with the user."""
    turns: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        if role == "tool":
            blocks: list[dict[str, Any]] = [
                {
                    "type": "tool_result",
                    "tool_use_id": str(message.get("tool_call_id") or ""),
                    "content": _text_of(message.get("content")),
                }
            ]
            role = "user"
        elif role == "assistant":
            blocks = _content_blocks(message.get("content"))
            blocks += [_tool_use(call) for call in message.get("tool_calls") or []]
        else:
            role = "user"
            blocks = _content_blocks(message.get("content"))
        if not blocks:
            continue
        if turns and turns[-1]["role"] == role:
            # Anthropic needs strict alternation; neighbours of one role become one turn.
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    while turns and turns[0]["role"] != "user":
        turns.pop(0)  # the history window may begin with an answer whose question fell out
    return turns


def _text_of(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text"
        )
    return str(content)


def _content_blocks(content: Any) -> list[dict[str, Any]]:
    if content is None or content == "":
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    blocks: list[dict[str, Any]] = []
    for part in content if isinstance(content, list) else []:
        if not isinstance(part, dict):
            continue
        if part.get("type") == "text" and part.get("text"):
            blocks.append({"type": "text", "text": str(part["text"])})
        elif part.get("type") == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            if isinstance(url, str):
                blocks.append(image_block(url))
    return blocks


def image_block(url: str) -> dict[str, Any]:
    """A data URL becomes a base64 source (what relays accept best); anything else a url source."""
    if url.startswith("data:"):
        header, _, data = url.partition(",")
        media_type = header.removeprefix("data:").split(";", 1)[0] or "image/jpeg"
        return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
    return {"type": "image", "source": {"type": "url", "url": url}}


def _tool_use(call: Any) -> dict[str, Any]:
    if not isinstance(call, dict):
        return {"type": "tool_use", "id": "", "name": "", "input": {}}
    function = call.get("function") or {}
    try:
        arguments = json.loads(function.get("arguments") or "{}")
    except json.JSONDecodeError:
        arguments = {}
    return {
        "type": "tool_use",
        "id": str(call.get("id") or ""),
        "name": str(function.get("name") or ""),
        "input": arguments if isinstance(arguments, dict) else {},
    }


def _tool(tool: dict[str, Any]) -> dict[str, Any]:
    function = tool.get("function") or {}
    out: dict[str, Any] = {
        "name": function.get("name", ""),
        "input_schema": function.get("parameters") or {"type": "object", "properties": {}},
    }
    if function.get("description"):
        out["description"] = function["description"]
    return out


def _tool_call(block_id: str, name: str, arguments: str) -> ToolCall:
    return ToolCall(id=block_id, function=ToolCallFunction(name=name, arguments=arguments or "{}"))


def result_of(payload: Any, model: str, request_id: str) -> ChatResult:
    """A non-streamed Anthropic answer (4.3)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("content"), list):
        raise errors.MalformedResponse("/v1/messages: answer without content")
    texts: list[str] = []
    calls: list[ToolCall] = []
    for block in payload["content"]:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "text":
            texts.append(str(block.get("text", "")))
        elif block.get("type") == "tool_use":
            arguments = json.dumps(block.get("input") or {}, ensure_ascii=False)
            calls.append(_tool_call(str(block.get("id", "")), str(block.get("name", "")), arguments))
    raw_usage = payload.get("usage")
    usage: dict[str, Any] = raw_usage if isinstance(raw_usage, dict) else {}
    return ChatResult(
        text="".join(texts),
        model=str(payload.get("model") or model),
        request_id=str(payload.get("id") or request_id),
        input_tokens=as_int(usage.get("input_tokens")),
        output_tokens=as_int(usage.get("output_tokens")),
        finish_reason=_STOP_REASONS.get(str(payload.get("stop_reason")), payload.get("stop_reason")),
        tool_calls=calls,
    )


def _object(value: Any) -> dict[str, Any]:
    """A JSON object from an event, or an empty one when the field is missing or another type."""
    return value if isinstance(value, dict) else {}


class StreamReader:
    """Folds Anthropic SSE events (4.4) into a ChatResult; text is reported as it grows.

    Input tokens come from `message_start`, output tokens from the last `message_delta`
    (cumulative). There is no [DONE]: `message_stop` marks a whole answer.
    """

    def __init__(self, model: str, on_text: OnText) -> None:
        self.result = ChatResult(text="", model=model, request_id="", complete=False)
        self._on_text = on_text
        self._tools: dict[int, tuple[str, str, list[str]]] = {}

    async def feed(self, data: str) -> bool:
        """Apply one event's data; True once the message is complete."""
        try:
            event = json.loads(data)
        except json.JSONDecodeError:
            log.warning("skipping undecodable anthropic stream event")
            return False
        if not isinstance(event, dict):
            return False
        kind = event.get("type")
        if kind == "message_start":
            message = _object(event.get("message"))
            self.result.request_id = str(message.get("id") or "")
            self.result.model = str(message.get("model") or self.result.model)
            self._usage(message.get("usage"))
        elif kind == "content_block_start":
            block = _object(event.get("content_block"))
            if block.get("type") == "tool_use":
                self._tools[as_int(event.get("index"))] = (
                    str(block.get("id", "")),
                    str(block.get("name", "")),
                    [],
                )
        elif kind == "content_block_delta":
            await self._delta(as_int(event.get("index")), _object(event.get("delta")))
        elif kind == "message_delta":
            reason = _object(event.get("delta")).get("stop_reason")
            if reason:
                self.result.finish_reason = _STOP_REASONS.get(str(reason), str(reason))
            self._usage(event.get("usage"))
        elif kind == "message_stop":
            self.result.complete = True
            return True
        elif kind == "error":
            error = _object(event.get("error"))
            detail = f"{error.get('type', 'error')}: {error.get('message', '')}"
            if not self.result.text:
                raise errors.Unavailable(f"anthropic stream error: {detail}")
            log.warning(
                "anthropic stream ended with an error after %d chars: %s", len(self.result.text), detail
            )
            return True
        return False  # ping and unknown events are ignored, as the contract asks

    def finish(self) -> ChatResult:
        """The result so far, with tool calls assembled from their JSON fragments."""
        self.result.tool_calls = [
            _tool_call(call_id, name, "".join(parts))
            for _, (call_id, name, parts) in sorted(self._tools.items())
        ]
        return self.result

    async def _delta(self, index: int, delta: dict[str, Any]) -> None:
        if delta.get("type") == "text_delta" and delta.get("text"):
            self.result.text += str(delta["text"])
            await self._on_text(self.result.text)
        elif delta.get("type") == "input_json_delta" and index in self._tools:
            self._tools[index][2].append(str(delta.get("partial_json") or ""))

    def _usage(self, usage: Any) -> None:
        if not isinstance(usage, dict):
            return
        if as_int(usage.get("input_tokens")):
            self.result.input_tokens = as_int(usage["input_tokens"])
        if "output_tokens" in usage:
            self.result.output_tokens = as_int(usage["output_tokens"])

"""POST /v1/chat/completions: plain, SSE, tools, structured output, vision, image models."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from . import pictures as pics
from .bodies import read_model_request
from .conversation import BadRequest, Conversation, from_openai
from .datauri import to_data_url
from .errors import ApiError, openai_error
from .prompts import INVALID_JSON_MARKER, clean_prompt, strip_markers
from .replies import ToolCall, decide, new_call_id
from .schema_fill import SchemaFiller
from .sse import Event, even_pieces, stream_answer, text_pieces
from .state import SimState, sim_state
from .tokens import IMAGE_TOKENS, text_tokens

BROKEN_JSON = 'Sure! Here is the JSON you asked for: {"result": "unterminated'


@dataclass
class Answer:
    content: str | None
    tool_calls: list[tuple[str, ToolCall]] = field(default_factory=list)
    finish_reason: str = "stop"
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def usage(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }


def is_image_model(model: str) -> bool:
    """gpt-4o-image, gemini-2.5-flash-image-preview, anything with "-image" in it."""
    return "-image" in model.lower()


def _json_content(request: web.Request, body: dict[str, Any], conv: Conversation) -> str | None:
    """Content for response_format json_schema / json_object, or None when not asked."""
    fmt = body.get("response_format")
    if not isinstance(fmt, dict) or fmt.get("type") not in ("json_schema", "json_object"):
        return None
    text = conv.last.text if conv.last else ""
    if fmt["type"] == "json_object":
        # OpenAI refuses json_object unless the prompt mentions JSON.
        everything = conv.system + " ".join(t.text for t in conv.turns)
        if "json" not in everything.lower():
            raise openai_error(
                request,
                400,
                "'messages' must contain the word 'json' in some form, "
                "to use 'response_format' of type 'json_object'.",
            )
        if INVALID_JSON_MARKER in text:
            return BROKEN_JSON
        return json.dumps({"reply": f"Echo: {strip_markers(text)}"}, ensure_ascii=False)
    spec = fmt.get("json_schema")
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise openai_error(request, 400, "Missing required parameter: 'response_format.json_schema.name'.")
    if INVALID_JSON_MARKER in text:
        return BROKEN_JSON
    schema = spec.get("schema")
    value = SchemaFiller(schema if isinstance(schema, dict) else {}, text).fill()
    return json.dumps(value, ensure_ascii=False)


# A markdown image the user asks the model to repeat ("answer with ![x](http://…)").
_QUOTED_IMAGE = re.compile(r"!\[[^\]]*\]\([^)\s]+\)")


def _image_content(request: web.Request, state: SimState, model: str, conv: Conversation) -> str:
    """Markdown image reply: a served https?:// URL, or a data URL for Gemini models.

    A compliant model repeats markdown images the user wrote, links included: that is how
    a chat member can make a model answer with any URL (the bot must not trust it).
    """
    last = conv.last
    quoted = _QUOTED_IMAGE.findall(last.text) if last and last.text else []
    if quoted:
        return "Here you go:\n\n" + "\n".join(quoted)
    prompt = clean_prompt(last.text) if last and last.text else "image"
    refs = [img for p in (last.pictures if last else ()) if p.data and (img := pics.open_image(p.data))]
    px = state.config.image_px
    img = pics.derive(refs, prompt, (px, px)) if refs else pics.prompt_card(prompt, (px, px))
    png = pics.encode_png(img)
    verb = "Editing" if refs else "Generating"
    if model.lower().startswith("gemini"):
        # new-api joins Gemini's text and inline-image parts with "\n".
        return f"{verb} image: {prompt}\n![image]({to_data_url(png)})"
    name = state.files.put(png)
    return f"{verb} image: {prompt}\n\n![image]({request.url.origin()}/__sim/files/{name})"


def _max_tokens(body: dict[str, Any]) -> int | None:
    for key in ("max_completion_tokens", "max_tokens"):
        value = body.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def compose(request: web.Request, state: SimState, body: dict[str, Any], conv: Conversation) -> Answer:
    model = str(body["model"])
    prompt_tokens = conv.prompt_tokens()
    decision = decide(conv)
    if isinstance(decision, list):
        call_tokens = sum(text_tokens(call.name + call.arguments_json) for call in decision)
        calls = [(new_call_id(), call) for call in decision]
        return Answer(None, calls, "tool_calls", prompt_tokens, call_tokens)
    json_content = _json_content(request, body, conv)
    if json_content is not None:
        return Answer(json_content, prompt_tokens=prompt_tokens, completion_tokens=text_tokens(json_content))
    if is_image_model(model) and not decision.after_tool:
        content = _image_content(request, state, model, conv)
        lead = content.split("![image]", 1)[0]
        return Answer(
            content, prompt_tokens=prompt_tokens, completion_tokens=text_tokens(lead) + IMAGE_TOKENS
        )
    text = decision.text
    limit = _max_tokens(body)
    if limit is not None and text_tokens(text) > limit:
        return Answer(
            text[: limit * 4], finish_reason="length", prompt_tokens=prompt_tokens, completion_tokens=limit
        )
    return Answer(text, prompt_tokens=prompt_tokens, completion_tokens=text_tokens(text))


def _message(answer: Answer) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": answer.content}
    if answer.tool_calls:
        message["tool_calls"] = [
            {"id": call_id, "type": "function", "function": {"name": c.name, "arguments": c.arguments_json}}
            for call_id, c in answer.tool_calls
        ]
    return message


def _chunks(base: dict[str, Any], answer: Answer, include_usage: bool) -> Iterator[Event]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> Event:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return Event.json({**base, "choices": [choice]})

    yield chunk({"role": "assistant", "content": None if answer.tool_calls else ""})
    for piece in text_pieces(answer.content or ""):
        yield chunk({"content": piece})
    for index, (call_id, call) in enumerate(answer.tool_calls):
        head = {
            "index": index,
            "id": call_id,
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        yield chunk({"tool_calls": [head]})
        for piece in even_pieces(call.arguments_json):
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    yield chunk({}, answer.finish_reason)
    if include_usage:
        yield Event.json({**base, "choices": [], "usage": answer.usage})
    yield Event("[DONE]")


def _include_usage(body: dict[str, Any]) -> bool:
    """new-api sends the usage chunk unless the client explicitly turns it off (3.3)."""
    options = body.get("stream_options")
    return not (isinstance(options, dict) and options.get("include_usage") is False)


async def chat_completions(request: web.Request) -> web.StreamResponse:
    state = sim_state(request)

    def bad(message: str) -> ApiError:
        return openai_error(request, 400, message)

    body, model = await read_model_request(request, bad)
    if "unavailable" in model:
        raise openai_error(
            request,
            503,
            f"当前分组 default 下对于模型 {model} 无可用渠道",
            type_="new_api_error",
            code="model_not_found",
        )
    try:
        conv = from_openai(body)
    except BadRequest as exc:
        raise bad(str(exc)) from exc
    answer = compose(request, state, body, conv)
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())
    if not body.get("stream"):
        state.ledger.add("chat", input_tokens=answer.prompt_tokens, output_tokens=answer.completion_tokens)
        return web.json_response(
            {
                "id": completion_id,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "system_fingerprint": "fp_sim",
                "choices": [
                    {
                        "index": 0,
                        "message": _message(answer),
                        "logprobs": None,
                        "finish_reason": answer.finish_reason,
                    }
                ],
                "usage": answer.usage,
            }
        )
    base = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "system_fingerprint": "fp_sim",
    }
    response, completed = await stream_answer(request, _chunks(base, answer, _include_usage(body)))
    if completed:
        # Billed even without a usage chunk: the gateway charges what it relayed.
        state.ledger.add("chat", input_tokens=answer.prompt_tokens, output_tokens=answer.completion_tokens)
    return response

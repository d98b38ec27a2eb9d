"""What the simulated model says, shared by the OpenAI and Anthropic endpoints.

Reply rules (deterministic, relied on by bot tests):

* last message is a tool result -> ``Done: <result, shortened to 200 chars>``
* tools offered and the user names one (``tool:<name> ...``; several names, or
  ``tool:<name>*N``, make several calls in one answer), asks to draw
  (draw / paint / 画 / "picture of") while an image tool exists, or the
  request forces a tool -> tool calls
* otherwise an echo: ``[I see N image(s): WxH colour, ...] Echo: <text>``
  followed by `` [history: N message(s)]`` when earlier messages were sent.
"""

from __future__ import annotations

import itertools
import json
import uuid
from dataclasses import dataclass
from typing import Any

from . import pictures as pics
from .conversation import Conversation, Picture, ToolSpec, Turn
from .prompts import directives, requested_length, shorten, strip_markers, wants_picture
from .schema_fill import SchemaFiller


@dataclass(frozen=True)
class TextReply:
    text: str
    after_tool: bool = False  # a "Done: ..." answer to tool results


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: dict[str, Any]

    @property
    def arguments_json(self) -> str:
        return json.dumps(self.arguments, ensure_ascii=False)


Decision = TextReply | list[ToolCall]


def new_call_id(prefix: str = "call_") -> str:
    return prefix + uuid.uuid4().hex[:24]


def describe_picture(picture: Picture) -> str:
    if picture.data is None:
        return "remote image" if picture.url else "unreadable image"
    info = pics.inspect(picture.data)
    return info.describe() if info else "unreadable image"


def vision_sentence(pictures: tuple[Picture, ...]) -> str:
    """E.g. ``I see 2 images: 64x48 red, 32x32 blue.``"""
    noun = "image" if len(pictures) == 1 else "images"
    return f"I see {len(pictures)} {noun}: {', '.join(describe_picture(p) for p in pictures)}."


def _padding(length: int) -> str:
    words = itertools.cycle(("lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "elit"))
    out: list[str] = []
    size = 0
    while size < length:
        word = next(words)
        out.append(word)
        size += len(word) + 1
    return " ".join(out)


def history_suffix(count: int) -> str:
    if count <= 0:
        return ""
    return f" [history: {count} {'message' if count == 1 else 'messages'}]"


def echo_text(conv: Conversation) -> str:
    last = conv.last or Turn("user", "")
    parts: list[str] = []
    if last.pictures:
        parts.append(vision_sentence(last.pictures))
    text = strip_markers(last.text)
    if text or not last.pictures:
        parts.append(f"Echo: {text}")
    reply = " ".join(parts)
    wanted = requested_length(last.text)
    if wanted is not None and len(reply) < wanted:
        reply = f"{reply} {_padding(wanted - len(reply) - 1)}"
    return reply + history_suffix(conv.history)


def _image_tool(tools: tuple[ToolSpec, ...]) -> ToolSpec | None:
    candidates = [t for t in tools if "image" in t.name.lower()]
    preferred = [t for t in candidates if "generat" in t.name.lower()]
    pool = preferred or candidates
    return pool[0] if pool else None


def _call(tool: ToolSpec, text: str) -> ToolCall:
    return ToolCall(tool.name, SchemaFiller(tool.schema, text, tool_args=True).object_args())


def pick_tool_calls(conv: Conversation) -> list[ToolCall]:
    last = conv.last
    if not conv.tools or conv.choice.mode == "none" or last is None or last.role != "user":
        return []
    by_name = {t.name: t for t in conv.tools}
    if conv.choice.name in by_name:
        return [_call(by_name[conv.choice.name], last.text)]
    names, rest = directives(last.text)
    named = [_call(by_name[name], rest) for name in names if name in by_name]
    if named:
        return named
    image_tool = _image_tool(conv.tools)
    if image_tool is not None and wants_picture(last.text):
        return [_call(image_tool, last.text)]
    if conv.choice.mode == "required":
        return [_call(image_tool or conv.tools[0], last.text)]
    return []


def decide(conv: Conversation) -> Decision:
    last = conv.last
    if last is not None and last.role == "tool":
        results = [t.text for t in itertools.takewhile(lambda t: t.role == "tool", reversed(conv.turns))]
        return TextReply(f"Done: {shorten(' | '.join(reversed(results)))}", after_tool=True)
    calls = pick_tool_calls(conv)
    if calls:
        return calls
    return TextReply(echo_text(conv))

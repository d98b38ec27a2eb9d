"""One neutral view of an OpenAI or Anthropic request, so both APIs share a brain.

Parsing raises :class:`BadRequest` with a message in the upstream's wording;
the handler wraps it in its own error shape.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .datauri import b64decode, decode_data_url, is_data_url
from .tokens import IMAGE_TOKENS, chars_tokens


class BadRequest(ValueError):
    """The request body does not have the shape the API requires."""


@dataclass(frozen=True)
class Picture:
    """An image in a request: decoded bytes (None if undecodable) or a remote URL."""

    data: bytes | None
    url: str | None = None


@dataclass(frozen=True)
class Turn:
    role: Literal["user", "assistant", "tool"]
    text: str
    pictures: tuple[Picture, ...] = ()


@dataclass(frozen=True)
class ToolSpec:
    name: str
    schema: Mapping[str, Any]


@dataclass(frozen=True)
class ToolChoice:
    mode: Literal["auto", "none", "required"] = "auto"
    name: str | None = None


@dataclass(frozen=True)
class Conversation:
    system: str
    turns: tuple[Turn, ...]
    tools: tuple[ToolSpec, ...] = ()
    choice: ToolChoice = field(default_factory=ToolChoice)
    tool_chars: int = 0

    @property
    def last(self) -> Turn | None:
        return self.turns[-1] if self.turns else None

    @property
    def history(self) -> int:
        """Messages before the last one (system prompts not counted)."""
        return max(0, len(self.turns) - 1)

    def prompt_tokens(self) -> int:
        chars = len(self.system) + self.tool_chars + sum(len(t.text) for t in self.turns)
        pictures = sum(len(t.pictures) for t in self.turns)
        return max(1, chars_tokens(chars) + IMAGE_TOKENS * pictures)


def _picture_from_url(url: str) -> Picture:
    if is_data_url(url):
        return Picture(decode_data_url(url))
    return Picture(None, url=url)


def _text_of(value: Any) -> str:
    """Text of a tool result / system prompt that may be a string or a list of text parts."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(str(p.get("text", "")) for p in value if isinstance(p, dict) and "text" in p)
    return json.dumps(value, ensure_ascii=False)


# ---- OpenAI -----------------------------------------------------------------


def _openai_parts(content: Any, where: str) -> tuple[str, tuple[Picture, ...]]:
    if content is None or isinstance(content, str):
        return content or "", ()
    if not isinstance(content, list):
        raise BadRequest(f"{where}.content must be a string or an array of parts")
    texts: list[str] = []
    pictures: list[Picture] = []
    for part in content:
        if not isinstance(part, dict):
            raise BadRequest(f"{where}.content parts must be objects")
        kind = part.get("type")
        if kind == "text":
            texts.append(str(part.get("text", "")))
        elif kind == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            if not isinstance(url, str) or not url:
                raise BadRequest(f"{where}: image_url.url is required")
            pictures.append(_picture_from_url(url))
    return "\n".join(texts), tuple(pictures)


def _openai_tools(body: Mapping[str, Any]) -> tuple[tuple[ToolSpec, ...], ToolChoice, int]:
    raw = body.get("tools") or []
    if not isinstance(raw, list):
        raise BadRequest("tools must be an array")
    tools: list[ToolSpec] = []
    for item in raw:
        fn = item.get("function") if isinstance(item, dict) else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
            raise BadRequest("tools[].function.name is required")
        params = fn.get("parameters")
        tools.append(ToolSpec(fn["name"], params if isinstance(params, dict) else {}))
    choice = ToolChoice()
    raw_choice = body.get("tool_choice")
    if raw_choice in ("none", "auto", "required"):
        choice = ToolChoice(raw_choice)
    elif isinstance(raw_choice, dict):
        fn = raw_choice.get("function")
        if isinstance(fn, dict) and isinstance(fn.get("name"), str):
            choice = ToolChoice("required", fn["name"])
    return tuple(tools), choice, len(json.dumps(raw, ensure_ascii=False)) if raw else 0


def from_openai(body: Mapping[str, Any]) -> Conversation:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("messages is required and must be a non-empty array")
    system: list[str] = []
    turns: list[Turn] = []
    for i, msg in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(msg, dict):
            raise BadRequest(f"{where} must be an object")
        role = msg.get("role")
        if role in ("system", "developer"):
            system.append(_text_of(msg.get("content")))
        elif role in ("user", "assistant"):
            text, pictures = _openai_parts(msg.get("content"), where)
            if role == "assistant" and msg.get("tool_calls"):
                text = text or json.dumps(msg["tool_calls"], ensure_ascii=False)
            turns.append(Turn(role, text, pictures))
        elif role == "tool":
            turns.append(Turn("tool", _text_of(msg.get("content"))))
        else:
            raise BadRequest(f"{where}.role {role!r} is not one of system, user, assistant, tool")
    tools, choice, tool_chars = _openai_tools(body)
    return Conversation("\n".join(system), tuple(turns), tools, choice, tool_chars)


# ---- Anthropic ----------------------------------------------------------------


def _anthropic_picture(block: Mapping[str, Any]) -> Picture:
    source = block.get("source")
    if not isinstance(source, dict):
        raise BadRequest("image.source is required")
    if source.get("type") == "base64":
        data = source.get("data")
        return Picture(b64decode(data) if isinstance(data, str) else None)
    if source.get("type") == "url" and isinstance(source.get("url"), str):
        return Picture(None, url=source["url"])
    raise BadRequest("image.source.type must be base64 or url")


def _anthropic_turn(role: str, content: Any, where: str) -> Turn:
    if isinstance(content, str):
        return Turn("user" if role == "user" else "assistant", content)
    if not isinstance(content, list):
        raise BadRequest(f"{where}.content: Input should be a valid string or list")
    texts: list[str] = []
    results: list[str] = []
    pictures: list[Picture] = []
    for block in content:
        if not isinstance(block, dict):
            raise BadRequest(f"{where}.content: blocks must be objects")
        kind = block.get("type")
        if kind == "text":
            texts.append(str(block.get("text", "")))
        elif kind == "image":
            pictures.append(_anthropic_picture(block))
        elif kind == "tool_result":
            results.append(_text_of(block.get("content")))
        elif kind == "tool_use":
            texts.append(json.dumps(block.get("input", {}), ensure_ascii=False))
    if role == "user" and results:
        return Turn("tool", "\n".join(results))
    return Turn("user" if role == "user" else "assistant", "\n".join(texts), tuple(pictures))


def from_anthropic(body: Mapping[str, Any]) -> Conversation:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("messages: Field required")
    turns: list[Turn] = []
    for i, msg in enumerate(messages):
        where = f"messages.{i}"
        if not isinstance(msg, dict) or msg.get("role") not in ("user", "assistant"):
            raise BadRequest(f"{where}.role: Input should be 'user' or 'assistant'")
        turns.append(_anthropic_turn(msg["role"], msg.get("content"), where))
    raw_tools = body.get("tools") or []
    if not isinstance(raw_tools, list):
        raise BadRequest("tools: Input should be a valid list")
    tools: list[ToolSpec] = []
    for i, tool in enumerate(raw_tools):
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
            raise BadRequest(f"tools.{i}.name: Field required")
        schema = tool.get("input_schema")
        tools.append(ToolSpec(tool["name"], schema if isinstance(schema, dict) else {}))
    choice = ToolChoice()
    raw_choice = body.get("tool_choice")
    if isinstance(raw_choice, dict):
        kind = raw_choice.get("type")
        if kind == "none":
            choice = ToolChoice("none")
        elif kind == "any":
            choice = ToolChoice("required")
        elif kind == "tool" and isinstance(raw_choice.get("name"), str):
            choice = ToolChoice("required", raw_choice["name"])
    tool_chars = len(json.dumps(raw_tools, ensure_ascii=False)) if raw_tools else 0
    return Conversation(_text_of(body.get("system")), tuple(turns), tuple(tools), choice, tool_chars)

"""One way to ask a chat model, whichever API format it speaks.

Conversations are built in the OpenAI shape; models configured as Anthropic-format go
through /v1/messages (converted by the gateway client), every other model through
/v1/chat/completions. Both answer with the same `ChatResult`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from fnmatch import fnmatchcase
from typing import Any

from bot.config import Settings
from bot.gateway.types import ChatResult
from bot.services import Services

OnText = Callable[[str], Awaitable[None]]


def is_anthropic(settings: Settings, model: str) -> bool:
    lowered = model.lower()
    return any(lowered.startswith(prefix.lower()) for prefix in settings.anthropic_model_prefixes if prefix)


def is_image_model(settings: Settings, model: str) -> bool:
    """A chat model that answers with images inside its content (gpt-4o-image, gemini-*-image)."""
    return matches_any(model, settings.image_chat_models)


def matches_any(model: str, patterns: Sequence[str]) -> bool:
    """Glob patterns (`gpt-4*`), case-insensitive."""
    lowered = model.lower()
    return any(fnmatchcase(lowered, pattern.lower()) for pattern in patterns)


async def complete(
    services: Services,
    model: str,
    messages: Sequence[dict[str, Any]],
    *,
    on_text: OnText | None = None,
    tools: Sequence[dict[str, Any]] | None = None,
    tool_choice: str | None = None,
    response_format: dict[str, Any] | None = None,
) -> ChatResult:
    """One chat call; streamed when `on_text` is given. `response_format` is OpenAI-only."""
    settings = services.settings
    if is_anthropic(settings, model):
        return await services.gateway.messages(
            model,
            messages,
            max_tokens=settings.chat_max_tokens,
            on_text=on_text,
            tools=tools,
            tool_choice=tool_choice,
        )
    extra: dict[str, Any] = {}
    if tools:
        extra["tools"] = list(tools)
        if tool_choice:
            extra["tool_choice"] = tool_choice
    if response_format is not None:
        extra["response_format"] = response_format
    return await services.gateway.chat(model, messages, on_text=on_text, **extra)

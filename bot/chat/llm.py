"""One way to ask a chat model, whichever API format it speaks.

Conversations are built in the OpenAI shape; models configured as Anthropic-format go
through /v1/messages (converted by the gateway client), every other model through
/v1/chat/completions. Both answer with the same `ChatResult`. Every request carries an
output cap: budgets reserve exactly that much answer, so a reservation is a real bound.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from fnmatch import fnmatchcase
from typing import Any

from bot.gateway.client import GatewayClient
from bot.gateway.types import ChatResult

OnText = Callable[[str], Awaitable[None]]

# OpenAI's reasoning models take `max_completion_tokens` and refuse `max_tokens`.
_COMPLETION_CAP_MODELS = ("o1*", "o3*", "o4*", "gpt-5*")


def matches_any(model: str, patterns: Sequence[str]) -> bool:
    """Glob patterns (`gpt-4*`), case-insensitive."""
    lowered = model.lower()
    return any(fnmatchcase(lowered, pattern.lower()) for pattern in patterns)


class Llm:
    def __init__(
        self,
        gateway: GatewayClient,
        *,
        anthropic_prefixes: Sequence[str],
        image_models: Sequence[str],
        max_tokens: int,
    ) -> None:
        self._gateway = gateway
        self._anthropic = tuple(p.lower() for p in anthropic_prefixes if p)
        self._image_models = tuple(image_models)
        self.max_tokens = max_tokens

    def is_anthropic(self, model: str) -> bool:
        return model.lower().startswith(self._anthropic) if self._anthropic else False

    def is_image_model(self, model: str) -> bool:
        """A chat model that answers with images inside its content (gpt-4o-image, gemini-*-image)."""
        return matches_any(model, self._image_models)

    async def complete(
        self,
        model: str,
        messages: Sequence[dict[str, Any]],
        *,
        on_text: OnText | None = None,
        tools: Sequence[dict[str, Any]] | None = None,
        tool_choice: str | None = None,
        response_format: dict[str, Any] | None = None,
        max_tokens: int | None = None,
        stop: asyncio.Event | None = None,
    ) -> ChatResult:
        """One chat call; streamed when `on_text` is given (and then ended early by `stop`).

        `response_format` is OpenAI-only.
        """
        cap = max_tokens or self.max_tokens
        if self.is_anthropic(model):
            return await self._gateway.messages(
                model,
                messages,
                max_tokens=cap,
                on_text=on_text,
                tools=tools,
                tool_choice=tool_choice,
                stop=stop,
            )
        extra: dict[str, Any] = {}
        extra["max_completion_tokens" if matches_any(model, _COMPLETION_CAP_MODELS) else "max_tokens"] = cap
        if tools:
            extra["tools"] = list(tools)
            if tool_choice:
                extra["tool_choice"] = tool_choice
        if response_format is not None:
            extra["response_format"] = response_format
        return await self._gateway.chat(model, messages, on_text=on_text, stop=stop, **extra)

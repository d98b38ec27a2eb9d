"""Reading an OpenAI chat completion stream (SSE chunks, wenwen-api.md §3.3) into a ChatResult."""

from __future__ import annotations

import json
import logging
from typing import Any

from bot.gateway.types import ChatResult, OnText, ToolCall, ToolCallFunction, as_int

log = logging.getLogger(__name__)


class ChatStreamReader:
    """Folds `chat.completion.chunk` events into a ChatResult; text is reported as it grows.

    Usage may come in its own `choices: []` chunk, on the last content chunk, or not at
    all; the last one seen wins. Chunks that are not the expected shape are skipped
    rather than failing an answer the user is already reading.
    """

    def __init__(self, model: str, on_text: OnText) -> None:
        self.result = ChatResult(text="", model=model, request_id="", complete=False)
        self._on_text = on_text
        self._calls: dict[int, ToolCall] = {}

    async def feed(self, data: str) -> bool:
        """Apply one event's data; True at `[DONE]`."""
        if data.strip() == "[DONE]":
            self.result.complete = True
            return True
        try:
            chunk = json.loads(data)
        except json.JSONDecodeError:
            log.warning("skipping undecodable stream chunk")
            return False
        if not isinstance(chunk, dict):
            log.warning("skipping stream chunk that is not an object")
            return False
        self.result.request_id = self.result.request_id or str(chunk.get("id") or "")
        self.result.model = str(chunk.get("model") or self.result.model)
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self.result.input_tokens = as_int(usage.get("prompt_tokens"))
            self.result.output_tokens = as_int(usage.get("completion_tokens"))
        choices = chunk.get("choices")
        for choice in choices if isinstance(choices, list) else []:
            if isinstance(choice, dict):
                await self._choice(choice)
        return False

    def finish(self) -> ChatResult:
        """The result so far, with tool calls in index order."""
        self.result.tool_calls = [self._calls[i] for i in sorted(self._calls)]
        if self.result.finish_reason is not None:
            # Some gateways drop [DONE]; a finish_reason still means the answer is whole.
            self.result.complete = True
        return self.result

    async def _choice(self, choice: dict[str, Any]) -> None:
        if choice.get("finish_reason"):
            self.result.finish_reason = str(choice["finish_reason"])
        delta = choice.get("delta")
        if not isinstance(delta, dict):
            return
        fragments = delta.get("tool_calls")
        for fragment in fragments if isinstance(fragments, list) else []:
            if isinstance(fragment, dict):
                self._tool_fragment(fragment)
        # A refusal (structured output) is the answer's text, as in a non-streamed reply.
        text = delta.get("content") or delta.get("refusal")
        if isinstance(text, str) and text:
            self.result.text += text
            await self._on_text(self.result.text)

    def _tool_fragment(self, fragment: dict[str, Any]) -> None:
        """The first fragment of a call names it; later ones append to its arguments."""
        call = self._calls.setdefault(as_int(fragment.get("index")), ToolCall())
        call.id = str(fragment.get("id") or call.id)
        function = fragment.get("function")
        if not isinstance(function, dict):
            return
        call.function = ToolCallFunction(
            name=str(function.get("name") or call.function.name),
            arguments=call.function.arguments + str(function.get("arguments") or ""),
        )

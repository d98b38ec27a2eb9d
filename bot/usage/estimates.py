"""What a billable command may use at most, before it runs: budgets reserve this much.

Exact where the request fixes the amount (one image, one Midjourney task); for chat an
upper bound: every request carries an output cap (CHAT_MAX_TOKENS) and its input is
bounded by the UTF-8 size of what is sent (a token is never less than one byte), priced
at the model the chat actually uses. At admission the chat's history is not read yet, so
`chat` reserves HISTORY_TOKEN_BUDGET for it; the chat turn then resizes its hold to
`chat_call(messages)` once the messages are built.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, assert_never

from bot import commands as c
from bot.config import CaptionMode, Settings
from bot.usage.budgets import Estimate
from bot.usage.pricing import MJ_PREFIX, PriceTable

# Tokens an image adds to a chat request at most (a high-detail 1024 px picture: the
# memory keeps thumbnails of at most that size).
IMAGE_TOKENS = 765
# Each message carries a few tokens of framing (role, separators).
MESSAGE_TOKENS = 8

Work = (
    c.Chat
    | c.Regenerate
    | c.ContinueAnswer
    | c.PhotoCaption
    | c.EditImages
    | c.GenerateImage
    | c.Imagine
    | c.Blend
    | c.MjButtonPress
    | c.Transcribe
    | c.Speak
    | c.Describe
    | c.MjImaginePrompt
    | c.MjPromptAnswer
)


class Job(StrEnum):
    """Work that holds a per-chat slot while it runs."""

    IMAGE = "image"  # generation or edit: the handler waits for the gateway
    MIDJOURNEY = "midjourney"  # submitted, then followed in the background


@dataclass(frozen=True)
class Estimator:
    settings: Settings
    prices: PriceTable

    def of(self, work: Work, chat_model: str) -> Estimate:
        match work:
            case c.Chat(prompt=prompt, images=images):
                return self.chat(prompt, len(images), chat_model)
            case c.Regenerate() | c.ContinueAnswer():
                # The question is in memory; the hold is sized again once the messages are built.
                return self.chat("", 0, chat_model)
            case c.GenerateImage():
                return self.image(self.settings.image_model)
            case c.EditImages():
                return self.image(self.settings.edit_model)
            case c.PhotoCaption(prompt=prompt, images=images):
                question = self.chat(prompt, len(images), chat_model)
                edit = self.image(self.settings.edit_model)
                mode = self.settings.caption_mode
                if mode is CaptionMode.ASK:
                    return question
                if mode is CaptionMode.EDIT:
                    return edit
                # AUTO: a classifier call, then a question or an edit (decided after admission).
                return self.classifier(prompt) + _either(question, edit)
            case (
                c.Imagine()
                | c.Blend()
                | c.MjButtonPress()
                | c.Describe()
                | c.MjImaginePrompt()
                | c.MjPromptAnswer()
            ):
                # Each submits exactly one Midjourney task (or asks in a dialog that runs one).
                return self.midjourney()
            case c.Transcribe(audio=audio):
                return self.transcription(audio.duration)
            case c.Speak(text=text):
                return self.speech(text)
            case _:
                assert_never(work)

    def transcription(self, seconds: float | None) -> Estimate:
        """Audio of unknown length is reserved at the longest accepted (VOICE_MAX_SECONDS)."""
        settings = self.settings
        heard = seconds if seconds is not None else settings.voice_max_seconds
        cost = self.prices.transcription_cost(settings.transcribe_model, heard)
        return Estimate(cost=cost or Decimal(0))

    def speech(self, text: str) -> Estimate:
        return Estimate(cost=self.prices.speech_cost(self.settings.tts_model, len(text)) or Decimal(0))

    def chat(self, prompt: str, images: int, model: str) -> Estimate:
        settings = self.settings
        tokens_in = (
            _bytes(prompt)
            + _bytes(settings.system_prompt)
            + settings.history_token_budget
            + IMAGE_TOKENS * images
            + 3 * MESSAGE_TOKENS
        )
        return self._tokens(model, tokens_in, settings.chat_max_tokens)

    def chat_call(
        self,
        model: str,
        messages: Sequence[dict[str, Any]],
        output_cap: int,
        tools: Sequence[dict[str, Any]] | None = None,
    ) -> Estimate:
        """The most one chat request with these messages (and tool definitions) can use."""
        tokens_in = input_bound(messages) + (_bytes(json.dumps(list(tools))) if tools else 0)
        return self._tokens(model, tokens_in, output_cap)

    def classifier(self, caption: str) -> Estimate:
        tokens_in = _bytes(caption) + 300 + 2 * MESSAGE_TOKENS  # the instructions are ~300 bytes
        return self._tokens(self.settings.classifier_model, tokens_in, CLASSIFIER_MAX_TOKENS)

    def image(self, model: str) -> Estimate:
        return Estimate(cost=self.prices.cost(model, images=1) or Decimal(0), images=1)

    def midjourney(self) -> Estimate:
        model = MJ_PREFIX + self.settings.mj_mode.value.lower()
        return Estimate(cost=self.prices.cost(model, mj_tasks=1) or Decimal(0), mj_tasks=1)

    def _tokens(self, model: str, tokens_in: int, tokens_out: int) -> Estimate:
        cost = self.prices.cost(model, input_tokens=tokens_in, output_tokens=tokens_out)
        return Estimate(cost=cost or Decimal(0), tokens=tokens_in + tokens_out)


# The classifier's answer is a tiny JSON object.
CLASSIFIER_MAX_TOKENS = 200


def job_of(work: Work, settings: Settings) -> Job | None:
    match work:
        case c.GenerateImage() | c.EditImages():
            return Job.IMAGE
        case c.PhotoCaption():
            return None if settings.caption_mode is CaptionMode.ASK else Job.IMAGE
        case (
            c.Imagine()
            | c.Blend()
            | c.MjButtonPress()
            | c.Describe()
            | c.MjImaginePrompt()
            | c.MjPromptAnswer()
        ):
            return Job.MIDJOURNEY
        case c.Chat() | c.Regenerate() | c.ContinueAnswer() | c.Transcribe() | c.Speak():
            return None
        case _:
            assert_never(work)


def input_bound(messages: Sequence[dict[str, Any]]) -> int:
    """Tokens the messages can cost at most: their text's UTF-8 size, images at their ceiling."""
    total = 0
    for message in messages:
        total += MESSAGE_TOKENS
        content = message.get("content")
        if isinstance(content, str):
            total += _bytes(content)
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and part.get("type") == "text":
                    total += _bytes(str(part.get("text", "")))
                else:
                    total += IMAGE_TOKENS
        for call in message.get("tool_calls") or ():
            total += _bytes(str(call))
    return total


def _bytes(text: str) -> int:
    return len(text.encode("utf-8"))


def _either(a: Estimate, b: Estimate) -> Estimate:
    """For a command whose kind is decided later: the larger of each amount."""
    return Estimate(
        cost=max(a.cost, b.cost),
        tokens=max(a.tokens, b.tokens),
        images=max(a.images, b.images),
        mj_tasks=max(a.mj_tasks, b.mj_tasks),
    )

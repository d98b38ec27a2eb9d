"""What a command is expected to use, before it runs: budgets reserve this much.

Only commands listed here are checked against budgets and job caps; a new billable
command should get an entry. Estimates are exact where the request fixes the amount
(one image, one Midjourney task) and an upper bound for chat: the prompt, the whole
memory window, the system prompt and BUDGET_OUTPUT_TOKENS of answer.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from bot import commands as c
from bot.budgets import Estimate
from bot.config import CaptionMode, Settings
from bot.pricing import MJ_PREFIX, PriceTable

# Tokens a photo adds to a chat request (a low-detail image; the memory stores thumbnails).
IMAGE_TOKENS = 85


class Job(StrEnum):
    """Work that holds a per-chat slot while it runs."""

    IMAGE = "image"  # generation or edit: the handler waits for the gateway
    MIDJOURNEY = "midjourney"  # submitted, then followed in the background


def _tokens(text: str) -> int:
    return len(text) // 4 + 1


def _chat(prompt: str, images: int, settings: Settings, prices: PriceTable) -> Estimate:
    tokens_in = (
        _tokens(prompt)
        + _tokens(settings.system_prompt)
        + settings.history_token_budget
        + IMAGE_TOKENS * images
    )
    tokens_out = settings.budget_output_tokens
    cost = prices.cost(settings.chat_model, input_tokens=tokens_in, output_tokens=tokens_out)
    return Estimate(cost=cost or Decimal(0), tokens=tokens_in + tokens_out, exact_cost=False)


def _image(model: str, prices: PriceTable) -> Estimate:
    return Estimate(cost=prices.cost(model, images=1) or Decimal(0), images=1)


def _midjourney(settings: Settings, prices: PriceTable) -> Estimate:
    model = MJ_PREFIX + settings.mj_mode.value.lower()
    return Estimate(cost=prices.cost(model, mj_tasks=1) or Decimal(0), mj_tasks=1)


def _either(a: Estimate, b: Estimate) -> Estimate:
    """For a command whose kind is decided later: the larger of each amount."""
    return Estimate(
        cost=max(a.cost, b.cost),
        tokens=max(a.tokens, b.tokens),
        images=max(a.images, b.images),
        mj_tasks=max(a.mj_tasks, b.mj_tasks),
        exact_cost=a.exact_cost and b.exact_cost,
    )


def estimate(command: object, settings: Settings, prices: PriceTable) -> Estimate | None:
    """None: the command calls no billable gateway endpoint."""
    match command:
        case c.Chat(prompt=prompt, images=images):
            return _chat(prompt, len(images), settings, prices)
        case c.GenerateImage():
            return _image(settings.image_model, prices)
        case c.EditImages():
            return _image(settings.edit_model, prices)
        case c.PhotoCaption(prompt=prompt, images=images):
            question = _chat(prompt, len(images), settings, prices)
            edit = _image(settings.edit_model, prices)
            if settings.caption_mode is CaptionMode.ASK:
                return question
            if settings.caption_mode is CaptionMode.EDIT:
                return edit
            return _either(question, edit)  # AUTO: a classifier decides after admission
        case c.Imagine() | c.Blend() | c.MjButtonPress():
            return _midjourney(settings, prices)
    return None


def job_of(command: object, settings: Settings) -> Job | None:
    if isinstance(command, c.GenerateImage | c.EditImages):
        return Job.IMAGE
    if isinstance(command, c.PhotoCaption) and settings.caption_mode is not CaptionMode.ASK:
        return Job.IMAGE
    if isinstance(command, c.Imagine | c.Blend | c.MjButtonPress):
        return Job.MIDJOURNEY
    return None

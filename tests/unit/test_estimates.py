"""What each billable command reserves against budgets before it runs: an upper bound."""

from __future__ import annotations

from decimal import Decimal

from bot import commands as c
from bot.config import CaptionMode, MjMode, Settings
from bot.usage.estimates import IMAGE_TOKENS, MESSAGE_TOKENS, Estimator, Job, input_bound, job_of
from bot.usage.pricing import load_prices

PRICES = load_prices()


def settings(**kw: object) -> Settings:
    return Settings(_env_file=None, **kw)  # type: ignore[call-arg]


def test_chat_reserves_prompt_memory_and_the_output_cap_at_the_chats_own_model() -> None:
    s = settings(history_token_budget=1000, chat_max_tokens=500, system_prompt="x" * 40)
    got = Estimator(s, PRICES).of(c.Chat("y" * 400), "gpt-4o")
    tokens_in = 400 + 40 + 1000 + 3 * MESSAGE_TOKENS
    assert got.tokens == tokens_in + 500
    assert got.cost == PRICES.cost("gpt-4o", input_tokens=tokens_in, output_tokens=500)
    assert got.cost > Estimator(s, PRICES).of(c.Chat("y" * 400), "gpt-4o-mini").cost
    assert got.images == got.mj_tasks == 0


def test_an_input_bound_counts_bytes_so_chinese_text_cannot_slip_under_it() -> None:
    # A token covers at least one byte: the UTF-8 size bounds any tokenizer's count.
    assert input_bound([{"role": "user", "content": "你好"}]) == 6 + MESSAGE_TOKENS
    parts = [{"type": "text", "text": "ab"}, {"type": "image_url", "image_url": {"url": "data:…"}}]
    assert input_bound([{"role": "user", "content": parts}]) == 2 + IMAGE_TOKENS + MESSAGE_TOKENS


def test_a_chat_call_is_bounded_by_its_messages_tools_and_cap() -> None:
    estimator = Estimator(settings(), PRICES)
    messages = [{"role": "system", "content": "s" * 100}, {"role": "user", "content": "q" * 50}]
    bare = estimator.chat_call("gpt-4o-mini", messages, 256)
    assert bare.tokens == 150 + 2 * MESSAGE_TOKENS + 256
    with_tools = estimator.chat_call("gpt-4o-mini", messages, 256, [{"type": "function", "name": "x"}])
    assert with_tools.tokens > bare.tokens


def test_images_and_midjourney_reserve_exactly_one() -> None:
    estimator = Estimator(settings(mj_mode=MjMode.FAST), PRICES)
    image = estimator.of(c.GenerateImage("fox"), "gpt-4o-mini")
    assert (image.images, image.cost) == (1, Decimal("0.042"))
    mj = estimator.of(c.Imagine("harbour"), "gpt-4o-mini")
    assert (mj.mj_tasks, mj.cost) == (1, Decimal("0.05"))
    assert estimator.of(c.MjButtonPress("1", 0), "gpt-4o-mini") == mj


def test_a_captioned_photo_reserves_for_whatever_it_may_become() -> None:
    auto = Estimator(settings(caption_mode=CaptionMode.AUTO), PRICES).of(
        c.PhotoCaption("make it pop", ()), "m"
    )
    assert auto.images == 1 and auto.tokens > 0
    ask = Estimator(settings(caption_mode=CaptionMode.ASK), PRICES).of(c.PhotoCaption("what is it", ()), "m")
    assert ask.images == 0
    assert job_of(c.PhotoCaption("x", ()), settings(caption_mode=CaptionMode.ASK)) is None
    assert job_of(c.PhotoCaption("x", ()), settings(caption_mode=CaptionMode.EDIT)) is Job.IMAGE


def test_jobs_hold_slots() -> None:
    s = settings()
    assert job_of(c.Blend(()), s) is Job.MIDJOURNEY
    assert job_of(c.GenerateImage("x"), s) is Job.IMAGE
    assert job_of(c.Chat("x"), s) is None

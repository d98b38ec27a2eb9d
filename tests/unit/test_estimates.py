"""What each command reserves against budgets before it runs."""

from __future__ import annotations

from decimal import Decimal

from bot import commands as c
from bot.config import CaptionMode, MjMode, Settings
from bot.estimates import Job, estimate, job_of
from bot.pricing import load_prices

PRICES = load_prices()


def settings(**kw: object) -> Settings:
    return Settings(_env_file=None, **kw)  # type: ignore[call-arg]


def test_chat_reserves_prompt_memory_and_answer_tokens() -> None:
    s = settings(history_token_budget=1000, budget_output_tokens=500, system_prompt="x" * 40)
    got = estimate(c.Chat("y" * 400), s, PRICES)
    assert got is not None
    tokens_in = 101 + 11 + 1000
    assert got.tokens == tokens_in + 500
    assert got.cost == PRICES.cost(s.chat_model, input_tokens=tokens_in, output_tokens=500)
    assert got.images == got.mj_tasks == 0


def test_images_and_midjourney_reserve_exactly_one() -> None:
    s = settings(mj_mode=MjMode.FAST)
    image = estimate(c.GenerateImage("fox"), s, PRICES)
    assert image is not None and (image.images, image.cost) == (1, Decimal("0.042"))
    mj = estimate(c.Imagine("harbour"), s, PRICES)
    assert mj is not None and (mj.mj_tasks, mj.cost) == (1, Decimal("0.05"))
    assert estimate(c.MjButtonPress("1", 0), s, PRICES) == mj


def test_a_captioned_photo_reserves_for_whatever_it_may_become() -> None:
    auto = estimate(c.PhotoCaption("make it pop", ()), settings(caption_mode=CaptionMode.AUTO), PRICES)
    assert auto is not None and auto.images == 1 and auto.tokens > 0
    ask = estimate(c.PhotoCaption("what is it", ()), settings(caption_mode=CaptionMode.ASK), PRICES)
    assert ask is not None and ask.images == 0
    assert job_of(c.PhotoCaption("x", ()), settings(caption_mode=CaptionMode.ASK)) is None
    assert job_of(c.PhotoCaption("x", ()), settings(caption_mode=CaptionMode.EDIT)) is Job.IMAGE


def test_free_commands_reserve_nothing() -> None:
    s = settings()
    for command in (c.Help(), c.ShowUsage(), c.NewConversation(), c.Admin("usage"), c.Hint("x")):
        assert estimate(command, s, PRICES) is None
        assert job_of(command, s) is None
    assert job_of(c.Blend(()), s) is Job.MIDJOURNEY

"""Budgets end to end: refused before any gateway call, no overshoot under concurrency."""

from __future__ import annotations

import asyncio

from simulator import Fault, Simulator
from tests.e2e.telegram.conftest import RunBot
from tests.e2e.telegram.reports import replies_in, reply, usage
from tests.e2e.usage_text import report_totals
from tests.fakes.telegram_api import JSON, FakeTelegram

GENERATIONS = "/v1/images/generations"


async def test_a_request_over_budget_is_refused_before_calling_the_gateway(
    *, run_bot: RunBot, tg: FakeTelegram, ann: JSON, bob: JSON, group: JSON, sim: Simulator
) -> None:
    async with run_bot(budgets="user.day.images=1"):
        tg.send_text(group, ann, "/image a fox")
        await tg.wait_for("sendPhoto")
        calls = len(sim.requests)
        refusal = await reply(tg, group, ann, "/image another fox", "⛔")
        assert len(sim.requests) == calls, "no gateway call for a refused request"
        tg.send_text(group, bob, "/image a badger")  # Bob's own allowance
        await tg.wait_for("sendPhoto", count=2)
    assert refusal.startswith("⛔ Your daily image budget in this chat is used up (1 image).")
    assert "It resets at 00:00 UTC (in " in refusal
    assert sim.ledger.images == 2


async def test_simultaneous_requests_do_not_overshoot_a_budget(
    run_bot: RunBot, tg: FakeTelegram, group: JSON, sim: Simulator
) -> None:
    users = [tg.user(id=2000 + n, first_name=f"U{n}", username=f"u{n}") for n in range(6)]
    # Each generation takes a while, so all six requests are in flight together.
    sim.add_fault(Fault(route=GENERATIONS, kind="slow_first_byte", delay=0.5, times=None))
    async with run_bot(budgets="chat.day.images=2", image_jobs_per_chat=0):
        for user in users:
            tg.send_text(group, user, f"/image portrait of {user['first_name']}")
        await tg.wait_for("sendPhoto", count=2)
        await tg.wait_for("sendMessage", lambda c: "⛔" in str(c.params.get("text")), count=4)
        await asyncio.sleep(0.6)  # anything still running would have finished by now
        report = await usage(tg, group, users[0])
    assert len(tg.calls_of("sendPhoto")) == 2
    assert sim.ledger.images == 2, "not a single image over the limit"
    assert report_totals(report).images == 2
    assert len(replies_in(tg, group, "This chat's daily image budget")) == 4


async def test_a_groups_admin_sets_its_budget(
    *, run_bot: RunBot, tg: FakeTelegram, ann: JSON, bob: JSON, group: JSON, sim: Simulator
) -> None:
    async with run_bot(budgets="chat.month.cost=10"):
        denied = await reply(tg, group, bob, "/admin budget chat day mj 5", "admins")
        shown = await reply(tg, group, ann, "/admin budget chat day mj 0", "💰")
        refused = await reply(tg, group, bob, "/imagine a harbour", "⛔")
        back = await reply(tg, group, ann, "/admin budget chat.day.mj=default", "💰")
        bad = await reply(tg, group, ann, "/admin budget chat week mj 1", "period")
    assert denied == "Only this chat's admins can see or change its budgets."
    assert "chat.day.mj: 0 of 0 Midjourney tasks used" in shown
    assert "set here" in shown and "chat.month.cost: $0.0000 of $10.0000 used" in shown
    assert refused.startswith("⛔ This chat's daily Midjourney budget is set to 0 Midjourney tasks.")
    assert "chat.day.mj" not in back and "default" in back
    assert "Example: /admin budget user day images 10" in bad
    assert sim.ledger.mj_tasks == 0


async def test_a_picture_drawn_by_a_chat_tool_respects_the_image_budget(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    async with run_bot(budgets="user.day.images=1"):
        tg.send_text(private, ann, "draw me a red fox at sunset")
        await tg.wait_for("sendPhoto")
        refusal = await reply(tg, private, ann, "please draw me a picture of a blue whale", "⛔")
    assert "daily image budget" in refusal
    assert len([r for r in sim.requests if r.path == GENERATIONS]) == 1, "the tool made no second call"
    assert sim.ledger.images == 1

"""Access control, admin commands and rate limits through the real aiogram stack."""

from __future__ import annotations

import asyncio

from simulator import Fault, Simulator
from tests.e2e.telegram.conftest import BOT_NAME, RunBot
from tests.e2e.telegram.reports import replies_in, reply
from tests.fakes.telegram_api import JSON, FakeTelegram

ADMIN = {"admin_user_ids": "tg:1009"}


async def settle(tg: FakeTelegram) -> None:
    """Let the bot read everything sent so far and finish its replies."""
    await tg.wait_updates_consumed()
    await asyncio.sleep(0.3)


async def test_an_unknown_chat_gets_one_polite_refusal(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, bob: JSON, sim: Simulator
) -> None:
    group = tg.group_chat(id=-100400, title="Strangers")
    async with run_bot(allowed_chat_ids="tg:-100999", allowed_user_ids="tg:1002"):
        tg.send_text(group, ann, "/ask who are you")
        tg.send_text(group, ann, f"@{BOT_NAME} hello?")
        tg.send_text(group, ann, "/image a cat")
        tg.send_text(group, ann, "just talking among ourselves")  # not addressed: never answered
        await settle(tg)
        answer = await reply(tg, tg.private_chat(bob), bob, "hi from an allowed user", "Echo:")
    refusals = replies_in(tg, group)
    assert refusals == [
        "🔒 Sorry, this bot is private and not enabled in this chat. "
        "Its admin can enable it with /admin allow tg:-100400"
    ]
    assert answer.startswith("Echo: hi from an allowed user")
    assert [r.path for r in sim.requests] == ["/v1/chat/completions"], "only Bob reached the gateway"


async def test_bot_admins_allow_and_deny_chats(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, group: JSON
) -> None:
    carol = tg.user(id=1009, first_name="Carol", username="carol")
    admin = tg.private_chat(carol)
    async with run_bot(allowed_chat_ids="tg:-1", **ADMIN):
        await reply(tg, group, ann, "/ask anyone?", "🔒")
        tg.send_text(group, ann, "/admin allow tg:-100400")  # refused chats are not listened to
        await settle(tg)
        allowed = await reply(tg, admin, carol, "/admin allow tg:-100400", "✅")
        answered = await reply(tg, group, ann, "/ask now?", "Echo: now?")
        not_admin = await reply(tg, group, ann, "/admin deny tg:-100400", "bot's admins")
        denied = await reply(tg, admin, carol, "/admin deny -100400", "✅")
        told = await reply(tg, group, ann, "/ask still there?", "🔒")
        tg.send_text(group, ann, "/ask hello??")
        await settle(tg)
        help_text = await reply(tg, admin, carol, "/admin", "Admin commands")
    assert not_admin == "This command is for the bot's admins (ADMIN_USER_IDS)."
    assert allowed == "✅ Chat tg:-100400 may now use the bot."
    assert answered.startswith("Echo: now?")
    assert denied == "✅ Chat tg:-100400 is now refused (told once)."
    assert told == "🔒 The bot's admins have turned it off in this chat."
    assert len(replies_in(tg, group, "🔒")) == 2, "one refusal before allow, one after deny"
    assert "/admin budget" in help_text


async def test_admin_usage_is_for_bot_admins_in_private(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON
) -> None:
    carol = tg.user(id=1009, first_name="Carol", username="carol")
    team = tg.group_chat(id=-100400, title="Team")
    other = tg.group_chat(id=-100500, title="Other")
    admin = tg.private_chat(carol)
    async with run_bot(**ADMIN):
        await reply(tg, team, ann, "/ask one", "Echo: one")
        await reply(tg, other, ann, "/ask two", "Echo: two")
        stranger = await reply(tg, private, ann, "/admin usage", "admins")
        in_group = await reply(tg, team, carol, "/admin usage", "private chat")
        everything = await reply(tg, admin, carol, "/admin usage all", "🌐")
        one = await reply(tg, admin, carol, "/admin usage tg:-100500 all", "📊")
    assert stranger == "This command is for the bot's admins (ADMIN_USER_IDS)."
    assert in_group == "/admin usage shows every chat: ask me in a private chat."
    assert "Total: $" in everything and "· 2 requests" in everything
    assert "• Team tg:-100400:" in everything and "• Other tg:-100500:" in everything
    assert one.startswith("📊 tg:-100500 — all time") and "· 1 request" in one


async def test_a_fast_user_is_asked_to_slow_down_once(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    async with run_bot(rate_limit_per_minute=2):
        for n in range(5):
            tg.send_text(private, ann, f"message {n}")
        await settle(tg)
        await tg.wait_for("sendMessage", count=3)
    texts = replies_in(tg, private)
    slow = [t for t in texts if t.startswith("🐢")]
    assert slow == ["🐢 Slow down a little: I take 2 requests a minute per person. Try again in 60 s."]
    assert len([t for t in texts if t.startswith("Echo:")]) == 2
    assert len(sim.requests) == 2


async def test_one_group_cannot_hold_every_image_slot(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, bob: JSON, sim: Simulator
) -> None:
    busy = tg.group_chat(id=-100400, title="Busy")
    calm = tg.group_chat(id=-100500, title="Calm")
    sim.add_fault(Fault(route="/v1/images/generations", kind="slow_first_byte", delay=0.6, times=None))
    async with run_bot(image_jobs_per_chat=1):
        tg.send_text(busy, ann, "/image one")
        await tg.wait_for("sendMessage", lambda c: "Drawing" in str(c.params.get("text")))
        tg.send_text(busy, bob, "/image two")
        tg.send_text(calm, bob, "/image three")
        await tg.wait_for("sendPhoto", count=2)
    assert replies_in(tg, busy, "⏳") == [
        "⏳ This chat already has 1 image jobs running. Please wait for one to finish."
    ]
    photos = [c.params["chat_id"] for c in tg.calls_of("sendPhoto")]
    assert sorted(photos) == [-100500, -100400]
    assert sim.ledger.images == 2

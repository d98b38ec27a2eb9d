"""Failures on either side: a short message in the channel, and the bot keeps working."""

from __future__ import annotations

import pytest

from simulator import Fault, Simulator
from tests.e2e.discord.conftest import BOT_ID, GENERAL, DiscordWorld, RunBot

CHAT = "/v1/chat/completions"


@pytest.mark.parametrize(
    ("fault", "says"),
    [
        (Fault(route=CHAT, kind="status", status=500), "⚠️ "),
        (Fault(route=CHAT, kind="status", status=401), "API key was rejected"),
        (Fault(route=CHAT, kind="status", status=429, retry_after=7), "Try again in 7 s"),
        (Fault(route=CHAT, kind="timeout", delay=3.0), "took too long"),
        (Fault(route=CHAT, kind="garbage"), "could not read"),
    ],
    ids=["500", "401", "429", "timeout", "garbage"],
)
async def test_gateway_failures_are_reported_briefly(
    *, world: DiscordWorld, run_bot: RunBot, dm: int, sim: Simulator, fault: Fault, says: str
) -> None:
    async with run_bot(chat_timeout=0.5):
        sim.add_fault(fault)
        asked = await world.say(dm, "hello?")
        notice = await world.wait_text(dm, says, after=int(asked["id"]))
        assert notice["content"].startswith("⚠️")
        assert len(notice["content"]) < 200
        assert notice["message_reference"]["message_id"] == asked["id"]

        again = await world.say(dm, "and now?")
        await world.wait_text(dm, "Echo: and now?", after=int(again["id"]))


async def test_a_failed_image_edit_updates_the_status_line(
    world: DiscordWorld, run_bot: RunBot, dm: int, sim: Simulator
) -> None:
    from tests.e2e.discord.test_images import png

    async with run_bot():
        sim.add_fault(Fault(route="/v1/images/edits", kind="status", status=500))
        await world.say(dm, "make it blue", attachments=[png("red")])
        await world.wait_text(dm, "❌ Failed after")
        await world.wait_text(dm, "⚠️ ")


async def test_a_midjourney_refusal_is_reported(world: DiscordWorld, run_bot: RunBot, sim: Simulator) -> None:
    async with run_bot():
        sim.add_fault(Fault(route="/mj/submit/imagine", kind="mj_code", status=24))
        await world.slash(GENERAL, "imagine", prompt="something forbidden")
        await world.wait_text(GENERAL, "Midjourney refused this prompt")


async def test_discord_refusing_a_reply_does_not_stop_the_bot(world: DiscordWorld, run_bot: RunBot) -> None:
    async with run_bot():
        # Missing permissions for the answer and for the error notice after it.
        world.fake.fail_next("POST", rf"/channels/{GENERAL}/messages$", status=403, times=2)
        await world.say(GENERAL, f"<@{BOT_ID}> are you there?")
        await world.fake.wait_for("POST", rf"/channels/{GENERAL}/messages$", count=2)
        assert world.bot_messages(GENERAL) == []

        await world.say(GENERAL, f"<@{BOT_ID}> now?")
        await world.wait_text(GENERAL, "Echo: now?")


async def test_discord_rate_limits_are_waited_out(world: DiscordWorld, run_bot: RunBot) -> None:
    async with run_bot():
        world.fake.fail_next("POST", rf"/channels/{GENERAL}/messages$", status=429, times=1)
        await world.say(GENERAL, f"<@{BOT_ID}> patience")
        await world.wait_text(GENERAL, "Echo: patience")


async def test_typing_failures_are_harmless(world: DiscordWorld, run_bot: RunBot) -> None:
    async with run_bot():
        world.fake.fail_next("POST", rf"/channels/{GENERAL}/typing$", status=403, times=5)
        await world.say(GENERAL, f"<@{BOT_ID}> type?")
        await world.wait_text(GENERAL, "Echo: type?")


async def test_a_late_interaction_is_still_answered_in_the_channel(
    world: DiscordWorld, run_bot: RunBot
) -> None:
    async with run_bot():
        # As if the acknowledgement came too late: Discord forgets the interaction.
        world.fake.fail_next("POST", r"/interactions/\d+/[^/]+/callback$", status=404, times=1)
        world.fake.fail_next("PATCH", r"/webhooks/\d+/[^/]+/messages/@original$", status=404, times=1)
        await world.slash(GENERAL, "ask", prompt="still there?")
        answer = await world.wait_text(GENERAL, "Echo: still there?")
        assert "message_reference" not in answer or answer["message_reference"] is None
    # Nothing more is asked of an interaction Discord has forgotten.
    assert not [c for c in world.fake.calls if c.method == "PATCH" and "/webhooks/" in c.path]


async def test_without_permission_to_post_a_slash_command_is_answered_through_the_interaction(
    world: DiscordWorld, run_bot: RunBot
) -> None:
    async with run_bot():
        world.fake.fail_next("POST", rf"/channels/{GENERAL}/messages$", status=403, times=10)
        interaction = await world.slash(GENERAL, "ask", prompt="can you hear me?")
        await world.wait_until(
            lambda: any("Echo: can you hear me?" in m["content"] for m in interaction.followups),
            what="the answer as a follow-up",
        )

"""The platform itself: registration, intents, shutdown, logging, and running next to Telegram."""

from __future__ import annotations

import asyncio
import logging

import discord
import pytest
from pydantic import SecretStr

from bot.router import COMMANDS
from simulator import Simulator
from tests.e2e.discord.conftest import GENERAL, GUILD, DiscordWorld, RunBot, discord_platform
from tests.fakes.telegram_api import FakeTelegram

# The router's menu, plus /admin: kept out of Telegram's menu, but Discord needs it registered.
MENU = {spec.name for spec in COMMANDS if spec.in_menu} | {"admin"}


async def test_commands_are_registered_globally_by_default(world: DiscordWorld, run_bot: RunBot) -> None:
    async with run_bot():
        assert {c["name"] for c in world.fake.registered_commands[None]} == MENU
        assert GUILD not in world.fake.registered_commands


async def test_commands_are_registered_to_configured_guilds(world: DiscordWorld, run_bot: RunBot) -> None:
    async with run_bot(discord_guild_ids=(GUILD,)):
        assert {c["name"] for c in world.fake.registered_commands[GUILD]} == MENU
        assert None not in world.fake.registered_commands
        await world.slash(GENERAL, "help")
        await world.wait_text(GENERAL, "/imagine")


async def test_a_failed_registration_is_logged_and_messages_still_work(
    world: DiscordWorld, run_bot: RunBot, dm: int, caplog: pytest.LogCaptureFixture
) -> None:
    world.fake.fail_next("PUT", r"/applications/\d+/commands$", status=403)
    async with run_bot():
        await world.say(dm, "hi")
        await world.wait_text(dm, "Echo: hi")
    assert any("could not register slash commands" in r.getMessage() for r in caplog.records)


async def test_a_slow_registration_does_not_hold_off_chat(
    world: DiscordWorld, run_bot: RunBot, dm: int
) -> None:
    # Two 500s: discord.py backs off 1 s, then 3 s, before the upload succeeds.
    world.fake.fail_next("PUT", r"/applications/\d+/commands$", status=500, times=2)
    async with run_bot():
        await world.say(dm, "hi")
        await world.wait_text(dm, "Echo: hi")
        await world.wait_until(lambda: bool(world.fake.registered_commands), what="commands", within=15)
    calls = world.fake.calls
    upload = next(c for c in calls if c.method == "PUT" and c.path.endswith("/commands") and c.status == 200)
    answer = next(c for c in calls if c.method == "POST" and "Echo: hi" in str(c.json))
    assert answer.at < upload.at, "the chat was answered while the commands were still uploading"


async def test_intents_ask_for_what_the_bot_reads(world: DiscordWorld, run_bot: RunBot) -> None:
    async with run_bot():
        intents = discord.Intents._from_value(world.fake.intents or 0)
    assert intents.guilds and intents.guild_messages and intents.dm_messages and intents.message_content
    assert not intents.members and not intents.presences  # privileged and unused


async def test_stopping_closes_the_client_and_cancels_work_in_flight(
    world: DiscordWorld, run_bot: RunBot, dm: int, sim: Simulator
) -> None:
    from simulator import Fault

    sim.add_fault(Fault(route="/v1/chat/completions", kind="timeout", delay=2.0))
    async with run_bot() as app:
        platform = discord_platform(app)
        await world.say(dm, "this will take a while")
        await world.fake.wait_for("POST", rf"/channels/{dm}/typing")
    # Leaving the block cancelled serving while the answer was still being awaited.
    assert platform.client.is_closed()
    pending = [t for t in asyncio.all_tasks() if t.get_name().startswith("discord ")]
    assert pending == []


async def test_stopping_right_after_connecting_leaves_no_discord_task_behind(
    world: DiscordWorld, run_bot: RunBot
) -> None:
    async with run_bot():
        pass  # well within discord.py's 2 s wait for guilds before on_ready
    await asyncio.sleep(0)
    leftovers = [t for t in asyncio.all_tasks() if "_delay_ready" in repr(t.get_coro())]
    assert all(t.done() or t.cancelling() for t in leftovers)


async def test_unknown_buttons_are_answered_not_ignored(world: DiscordWorld, run_bot: RunBot) -> None:
    async with run_bot():
        await world.slash(GENERAL, "help")
        helped = await world.wait_text(GENERAL, "/imagine")
        press = await world.press(GENERAL, int(helped["id"]), "something-else:1")
        await world.wait_text(GENERAL, "This button is no longer valid")
        assert press.callback_type == 6


async def test_the_token_is_never_logged(
    world: DiscordWorld, run_bot: RunBot, dm: int, caplog: pytest.LogCaptureFixture
) -> None:
    token = "MTIzNDU2.secret-token.value"
    caplog.set_level(logging.DEBUG)
    async with run_bot(discord_bot_token=SecretStr(token)):
        await world.say(dm, "hi")
        await world.wait_text(dm, "Echo: hi")
        await world.slash(GENERAL, "usage")
        await world.wait_text(GENERAL, "Usage in this chat")
    assert caplog.records
    assert not any(token in r.getMessage() for r in caplog.records)


async def test_telegram_and_discord_side_by_side(world: DiscordWorld, run_bot: RunBot, dm: int) -> None:
    tg = FakeTelegram(token="123456:TEST-token-abcdef", bot_username="wenwen_test_bot")
    await tg.start()
    try:
        async with run_bot(telegram_bot_token=SecretStr(tg.token), telegram_api_url=tg.base_url) as app:
            assert sorted(p.messenger.platform for p in app.platforms) == ["dc", "tg"]
            await tg.wait_for("setMyCommands", timeout=10)
            ann = tg.user(id=1001, first_name="Ann", username="ann")
            tg.send_text(tg.private_chat(ann), ann, "hi from telegram")
            await world.say(dm, "hi from discord")
            await world.wait_text(dm, "Echo: hi from discord")
            sent = await tg.wait_for(
                "sendMessage", lambda c: "Echo: hi from telegram" in c.params.get("text", "")
            )
            # Separate chats: neither answer remembers the other's turn.
            assert "[history" not in sent.params["text"]
            assert "[history" not in world.bot_messages(dm)[-1]["content"]
    finally:
        await tg.stop()


async def test_a_dropped_gateway_connection_is_resumed(world: DiscordWorld, run_bot: RunBot, dm: int) -> None:
    async with run_bot():
        await world.fake.drop_connection()
        await world.wait_until(lambda: world.fake.resumes == 1, what="a RESUME")
        await world.say(dm, "after the hiccup")
        await world.wait_text(dm, "Echo: after the hiccup")

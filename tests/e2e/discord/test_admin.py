"""/admin on Discord: the bot's admins (ADMIN_USER_IDS, `dc:<user id>`) reach it as a slash command."""

from __future__ import annotations

from bot.handlers.admin import BOT_ADMINS_ONLY
from simulator import Simulator
from tests.e2e.discord.conftest import BOT_ID, GENERAL, RANDOM, DiscordWorld, RunBot
from tests.e2e.usage_text import report_totals

# Bob is an ordinary member of the server (Alice owns it): his rights come from this alone.
BOB_ADMINS_THE_BOT = {"admin_user_ids": "dc:102"}


async def test_a_bot_admin_sees_usage_in_a_dm_and_sets_a_budget_in_a_channel(
    world: DiscordWorld, run_bot: RunBot, sim: Simulator
) -> None:
    async with run_bot(**BOB_ADMINS_THE_BOT):
        await world.say(GENERAL, f"<@{BOT_ID}> a public question")
        await world.wait_text(GENERAL, "Echo: a public question")
        dm = world.dm(world.bob)
        await world.say(dm, "a private question", user=world.bob)
        await world.wait_text(dm, "Echo: a private question")

        asked = await world.slash(dm, "admin", user=world.bob, text="usage all")
        overview = (await world.wait_text(dm, "🌐 All chats"))["content"]
        one_chat = await world.slash(dm, "admin", user=world.bob, text=f"usage dc:{GENERAL} all")
        general = (await world.wait_text(dm, f"📊 dc:{GENERAL}"))["content"]

        await world.slash(GENERAL, "admin", user=world.bob, text="budget chat day images 1")
        budgets = (await world.wait_text(GENERAL, "💰 Budgets in"))["content"]
        await world.slash(GENERAL, "image", prompt="a fox")
        await world.wait_image(GENERAL)
        await world.slash(GENERAL, "image", prompt="another fox")
        refusal = (await world.wait_text(GENERAL, "⛔"))["content"]
        await world.slash(RANDOM, "image", prompt="a fox elsewhere")  # the limit is #general's
        await world.wait_image(RANDOM)

    assert asked.callback_type == 5 and asked.original is not None
    assert asked.original["content"] == "**/admin** usage all"
    assert f"`dc:{GENERAL}`" in overview and f"`dc:{dm}`" in overview
    assert report_totals(overview).requests == 2
    assert one_chat.acknowledged and report_totals(general).requests == 1
    assert "Top users" in general and "• alice: " in general
    assert f"`dc:{GENERAL}`" in budgets and "`chat.day.images`" in budgets
    assert refusal.startswith("⛔ This chat's daily image budget is used up (1 image).")
    assert sim.ledger.images == 2, "the refused request never reached the gateway"


async def test_admin_alone_shows_the_admin_commands(world: DiscordWorld, run_bot: RunBot) -> None:
    async with run_bot(**BOB_ADMINS_THE_BOT):
        dm = world.dm(world.bob)
        await world.slash(dm, "admin", user=world.bob)
        help_text = (await world.wait_text(dm, "Admin commands"))["content"]
        assert "/admin usage" in help_text
        await world.slash(GENERAL, "admin", user=world.bob, text="usage")
        await world.wait_text(GENERAL, "ask me in a private chat")


async def test_people_who_do_not_admin_the_bot_are_refused(
    world: DiscordWorld, run_bot: RunBot, sim: Simulator
) -> None:
    cid = world.fake.user(103, "cid")  # no rights anywhere
    # Bob admins the bot on Telegram only: the same number on Discord is someone else.
    async with run_bot(admin_user_ids="tg:102"):
        bob_dm = world.dm(world.bob)
        await world.slash(bob_dm, "admin", user=world.bob, text="usage all")
        not_on_discord = (await world.wait_text(bob_dm, "bot's admins"))["content"]
        cid_dm = world.dm(cid)
        await world.slash(cid_dm, "admin", user=cid, text="usage all")
        not_cid = (await world.wait_text(cid_dm, "bot's admins"))["content"]
        # The server's owner manages its budgets, but not who may use the bot.
        await world.slash(GENERAL, "admin", text=f"deny dc:{RANDOM}")
        owner = (await world.wait_text(GENERAL, "bot's admins"))["content"]
        await world.slash(GENERAL, "admin", user=cid, text="budget chat day images 0")
        member = await world.wait_text(GENERAL, "Only this chat's admins")

        # Neither refused command changed anything.
        await world.say(RANDOM, f"<@{BOT_ID}> still open?", user=cid)
        await world.wait_text(RANDOM, "Echo: still open?")
        await world.slash(GENERAL, "image", prompt="a fox", user=cid)
        await world.wait_image(GENERAL, after=int(member["id"]))

    assert not_on_discord == not_cid == owner == str(BOT_ADMINS_ONLY)
    assert member["content"] == "Only this chat's admins can see or change its budgets."
    assert sim.ledger.images == 1

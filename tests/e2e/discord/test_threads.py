"""Discord threads: each thread is a chat of its own (memory, ledger), answered in the thread,
and allowed or refused with its parent channel unless it has a rule of its own."""

from __future__ import annotations

from sqlalchemy import text

from bot.app import App
from tests.e2e.discord.conftest import BOT_ID, GENERAL, RANDOM, DiscordWorld, RunBot, discord_platform
from tests.e2e.discord.test_midjourney import is_grid

THREAD = 610  # under #general
LATER = 611  # under #general, made while the bot is connected
ELSEWHERE = 612  # under #random


async def ledger(app: App) -> dict[str, list[str]]:
    async with app.services.db.engine.connect() as conn:
        rows = await conn.execute(text("SELECT chat_key, kind FROM usage_events ORDER BY created_at"))
        found: dict[str, list[str]] = {}
        for key, kind in rows:
            found.setdefault(key, []).append(kind)
        return found


async def test_a_thread_keeps_its_own_memory_and_ledger_and_is_answered_in_place(
    world: DiscordWorld, run_bot: RunBot
) -> None:
    world.fake.add_thread(GENERAL, THREAD, "side talk", owner=world.bob)
    async with run_bot() as app:
        await world.say(GENERAL, f"<@{BOT_ID}> in the channel")
        await world.wait_text(GENERAL, "Echo: in the channel")

        asked = await world.say(THREAD, f"<@{BOT_ID}> in the thread", user=world.bob)
        answer = await world.wait_text(THREAD, "Echo: in the thread")
        assert "[history" not in answer["content"], "the channel's conversation stays out"
        assert answer["message_reference"]["message_id"] == asked["id"]
        await world.say(THREAD, f"<@{BOT_ID}> again", user=world.bob)
        again = await world.wait_text(THREAD, "Echo: again")
        assert again["content"].endswith("[history: 2 messages]")
        follow = await world.say(GENERAL, f"<@{BOT_ID}> back here")
        back = await world.wait_text(GENERAL, "Echo: back here", after=int(follow["id"]))
        assert back["content"].endswith("[history: 2 messages]"), "the channel remembers only its own"
        assert not any("thread" in m["content"] for m in world.bot_messages(GENERAL))

        # A slash command in the thread: the grid (delivered later by the tracker) lands there too.
        await world.slash(THREAD, "imagine", prompt="a cat in a thread")
        await world.wait_message(THREAD, is_grid)
        assert not any(is_grid(m) for m in world.bot_messages(GENERAL))

        # /new in the thread starts the thread over, not the channel.
        await world.slash(THREAD, "new")
        await world.wait_text(THREAD, "Started a new conversation")
        await world.say(THREAD, f"<@{BOT_ID}> fresh", user=world.bob)
        fresh = await world.wait_text(THREAD, "Echo: fresh")
        assert "[history" not in fresh["content"]

        # A thread started while the bot is connected (THREAD_CREATE) works the same.
        world.fake.add_thread(GENERAL, LATER, "later")
        await world.wait_until(lambda: discord_knows(app, LATER), what="THREAD_CREATE")
        await world.say(LATER, f"<@{BOT_ID}> new thread")
        await world.wait_text(LATER, "Echo: new thread")

        spent = await ledger(app)
        async with app.services.db.engine.connect() as conn:
            title = await conn.scalar(text("SELECT title FROM chats WHERE key = :k"), {"k": f"dc:{THREAD}"})
    assert spent[f"dc:{GENERAL}"] == ["chat", "chat"]
    assert spent[f"dc:{THREAD}"] == ["chat", "chat", "mj_imagine", "chat"]
    assert spent[f"dc:{LATER}"] == ["chat"]
    assert title == "Test Guild #side talk"


def discord_knows(app: App, channel_id: int) -> bool:
    return discord_platform(app).client.get_channel(channel_id) is not None


async def test_a_thread_follows_its_channels_access_unless_it_has_its_own_rule(
    world: DiscordWorld, run_bot: RunBot
) -> None:
    world.fake.add_thread(GENERAL, THREAD, "allowed")
    world.fake.add_thread(RANDOM, ELSEWHERE, "closed")
    # Only #general is open; Alice runs the bot, Bob is an ordinary member.
    async with run_bot(allowed_chat_ids=f"dc:{GENERAL}", admin_user_ids="dc:101"):
        await world.say(THREAD, f"<@{BOT_ID}> hello", user=world.bob)
        await world.wait_text(THREAD, "Echo: hello")
        await world.say(ELSEWHERE, f"<@{BOT_ID}> hello", user=world.bob)
        refused = await world.wait_text(ELSEWHERE, "🔒")
        assert f"/admin allow dc:{RANDOM}" in refused["content"], "allowing the channel covers the thread"

        await world.slash(ELSEWHERE, "admin", text=f"allow dc:{RANDOM}")
        await world.wait_text(ELSEWHERE, "may now use the bot")
        await world.say(ELSEWHERE, f"<@{BOT_ID}> now?", user=world.bob)
        await world.wait_text(ELSEWHERE, "Echo: now?")

        await world.slash(THREAD, "admin", text="deny")  # this thread only
        await world.wait_text(THREAD, "is now refused")
        await world.say(THREAD, f"<@{BOT_ID}> still?", user=world.bob)
        await world.wait_text(THREAD, "turned it off in this chat")
        await world.say(GENERAL, f"<@{BOT_ID}> and here?", user=world.bob)
        await world.wait_text(GENERAL, "Echo: and here?")

"""Chat on Discord: DMs, mentions, replies, /ask, memory per channel, long answers."""

from __future__ import annotations

from tests.e2e.discord.conftest import BOT_ID, GENERAL, RANDOM, DiscordWorld, RunBot


async def test_dm_every_message_is_a_turn_with_memory_and_new_resets(
    world: DiscordWorld, run_bot: RunBot, dm: int
) -> None:
    async with run_bot():
        first = await world.say(dm, "hello there")
        answer = await world.wait_text(dm, "Echo: hello there", after=int(first["id"]))
        assert "[history" not in answer["content"]
        assert answer["message_reference"]["message_id"] == first["id"]  # a reply to the user

        second = await world.say(dm, "and again")
        answer = await world.wait_text(dm, "Echo: and again", after=int(second["id"]))
        assert answer["content"].endswith("[history: 2 messages]")

        reset = await world.slash(dm, "new")
        await world.wait_text(dm, "Started a new conversation")
        assert reset.acknowledged

        third = await world.say(dm, "fresh start")
        answer = await world.wait_text(dm, "Echo: fresh start", after=int(third["id"]))
        assert "[history" not in answer["content"]


async def test_typing_is_shown_while_waiting(world: DiscordWorld, run_bot: RunBot, dm: int) -> None:
    async with run_bot():
        before = len(world.fake.calls)
        await world.say(dm, "hi")
        await world.wait_text(dm, "Echo: hi")
        await world.fake.wait_for("POST", rf"/channels/{dm}/typing", since=before)


async def test_guild_message_needs_a_mention_or_a_reply(world: DiscordWorld, run_bot: RunBot) -> None:
    async with run_bot():
        ignored = await world.say(GENERAL, "just chatting among humans")
        mentioned = await world.say(GENERAL, f"<@{BOT_ID}> what is a quasar?")
        answer = await world.wait_text(GENERAL, "Echo: what is a quasar?")
        assert "<@" not in answer["content"]  # the mention itself is not part of the prompt
        assert answer["message_reference"]["message_id"] == mentioned["id"]
        assert not any("just chatting" in m["content"] for m in world.bot_messages(GENERAL))

        reply = await world.say(GENERAL, "tell me more", reply_to=int(answer["id"]), user=world.bob)
        follow_up = await world.wait_text(GENERAL, "Echo: tell me more", after=int(reply["id"]))
        assert follow_up["message_reference"]["message_id"] == reply["id"]
        # Memory is the channel's: Bob's reply continues Alice's conversation.
        assert follow_up["content"].endswith("[history: 2 messages]")

        # A reply to someone else is not for the bot.
        await world.say(GENERAL, "nice one", reply_to=int(ignored["id"]), user=world.bob)
        await world.settle()
        assert not any("nice one" in m["content"] for m in world.bot_messages(GENERAL))


async def test_each_channel_has_its_own_memory(world: DiscordWorld, run_bot: RunBot) -> None:
    async with run_bot():
        await world.say(GENERAL, f"<@{BOT_ID}> one")
        await world.wait_text(GENERAL, "Echo: one")
        await world.say(RANDOM, f"<@{BOT_ID}> two")
        answer = await world.wait_text(RANDOM, "Echo: two")
        assert "[history" not in answer["content"]


async def test_slash_ask_is_deferred_then_answered_below_the_command(
    world: DiscordWorld, run_bot: RunBot
) -> None:
    async with run_bot():
        interaction = await world.slash(GENERAL, "ask", prompt="why is the sky blue?")
        answer = await world.wait_text(GENERAL, "Echo: why is the sky blue?")
        assert interaction.callback_type == 5  # deferred, "thinking…"
        assert interaction.acknowledged_at is not None
        assert interaction.acknowledged_at - interaction.sent_at < 3.0
        original = interaction.original
        assert original is not None
        assert original["content"] == "**/ask** why is the sky blue?"
        assert answer["message_reference"]["message_id"] == original["id"]


async def test_long_answers_are_split_into_messages_discord_accepts(
    world: DiscordWorld, run_bot: RunBot, dm: int
) -> None:
    # Code blocks kept whole across messages: tests/unit/adapters/discord/test_outbox.py (the
    # simulator's echo flattens newlines, so it cannot produce a fenced block).
    async with run_bot():
        question = await world.say(dm, "[[long:5000]] tell me everything")

        def complete() -> list[dict[str, str]] | None:
            messages = world.bot_messages(dm, after=int(question["id"]))
            text = " ".join(m["content"] for m in messages)
            return messages if len(text) >= 5000 and not text.endswith("…") else None

        messages = await world.wait_until(complete, what="the whole long answer")
        assert len(messages) >= 3
        assert all(len(m["content"]) <= 2000 for m in messages)
        assert messages[0]["content"].startswith("Echo: tell me everything")
        assert messages[0]["message_reference"]["message_id"] == question["id"]
        # Nothing lost at the seams: the words of the answer appear in order.
        words = " ".join(m["content"] for m in messages).split()
        assert words[:4] == ["Echo:", "tell", "me", "everything"]
        assert len(" ".join(words)) >= 5000

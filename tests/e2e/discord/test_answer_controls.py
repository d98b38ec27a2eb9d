"""The buttons under a chat answer on Discord (🔄, ⏹, continue), and replies as context."""

from __future__ import annotations

from typing import Any

import pytest

from simulator import Fault, Simulator
from tests.e2e.discord.conftest import BOT_ID, GENERAL, DiscordWorld, Message, RunBot
from tests.e2e.discord.test_chat_streaming import pace
from tests.e2e.discord.test_images import png
from tests.e2e.gateway_log import chat_completion_bodies
from tests.e2e.usage_text import report_totals

STORY = "[[long:900]] tell me a story"
SLOW = Fault(route="/v1/chat/completions", kind="slow_stream", delay=0.15)


def buttons_of(message: Message) -> dict[str, str]:
    """label → custom_id of every button on a message."""
    return {c["label"]: c["custom_id"] for row in message["components"] for c in row["components"]}


def has_button(label: str) -> Any:
    return lambda m: label in buttons_of(m)


def texts_of(messages: list[dict[str, Any]], role: str) -> list[str]:
    return [
        m["content"] if isinstance(m["content"], str) else m["content"][0]["text"]
        for m in messages
        if m["role"] == role
    ]


async def usage_requests(world: DiscordWorld, channel: int) -> int:
    await world.slash(channel, "usage", period="all")
    return report_totals((await world.wait_text(channel, "📊"))["content"]).requests


async def test_regenerate_replaces_the_answer_and_works_after_a_restart(
    world: DiscordWorld, run_bot: RunBot, sim: Simulator
) -> None:
    async with run_bot():
        await world.say(GENERAL, f"<@{BOT_ID}> hello there")
        first = await world.wait_message(GENERAL, has_button("🔄"))
    async with run_bot():  # a restart: the button names the stored answer
        regenerate = buttons_of(first)["🔄"]
        await world.fake.press_button(GENERAL, world.bob, int(first["id"]), regenerate, guild_id=500)
        second = await world.wait_message(GENERAL, has_button("🔄"), after=int(first["id"]))
        await world.press(GENERAL, int(first["id"]), regenerate)  # the old button, again
        gone = await world.wait_text(GENERAL, "no longer", after=int(second["id"]))
        await world.say(GENERAL, f"<@{BOT_ID}> and then?")
        await world.wait_text(GENERAL, "Echo: and then?", after=int(gone["id"]))
        requests = await usage_requests(world, GENERAL)
    assert second["content"] == "Echo: hello there" and first["content"] == "Echo: hello there"
    assert buttons_of(second)["🔄"] != regenerate
    asked, regenerated, follow_up = (b["messages"] for b in chat_completion_bodies(sim))
    assert regenerated == asked, "the same question with the same context"
    assert texts_of(follow_up, "user") == ["hello there", "and then?"]
    assert texts_of(follow_up, "assistant") == ["Echo: hello there"], "replaced, not added"
    assert requests == 3 == sum(sim.ledger.requests.values()), "the regeneration is billed once"


@pytest.mark.sim(chunk_delay=0.0)
async def test_stop_by_the_asker_keeps_the_text_and_shows_regenerate(
    world: DiscordWorld, run_bot: RunBot, sim: Simulator
) -> None:
    sim.add_fault(SLOW)
    async with run_bot() as app:
        pace(app)
        await world.say(GENERAL, f"<@{BOT_ID}> {STORY}")
        growing = await world.wait_message(GENERAL, has_button("⏹ Stop"))
        stop = buttons_of(growing)["⏹ Stop"]
        await world.fake.press_button(GENERAL, world.bob, int(growing["id"]), stop, guild_id=500)
        await world.wait_text(GENERAL, "Only the person who asked", after=int(growing["id"]))
        await world.press(GENERAL, int(growing["id"]), stop)  # Alice asked
        final = await world.wait_until(
            lambda: (m := world.fake.message(int(growing["id"]))) and "🔄" in buttons_of(m) and m,
            what="the stopped answer with 🔄",
        )
        requests = await usage_requests(world, GENERAL)
    assert final["content"].startswith("Echo: tell me a story") and final["content"].endswith("[stopped]")
    assert len(final["content"]) < 900 and "⏹ Stop" not in buttons_of(final)
    assert requests == 1, "what was produced is billed"


@pytest.mark.sim(chunk_delay=0.0)
async def test_a_stale_stop_after_a_restart_is_answered_politely(
    world: DiscordWorld, run_bot: RunBot, sim: Simulator
) -> None:
    sim.add_fault(SLOW)
    async with run_bot(shutdown_grace=0.2) as app:
        pace(app)
        await world.say(GENERAL, f"<@{BOT_ID}> {STORY}")
        growing = await world.wait_message(GENERAL, has_button("⏹ Stop"))
        # Discord refusing edits as the bot stops: the cut-off answer keeps its ⏹ (as after a kill).
        world.fake.fail_next("PATCH", rf"/messages/{growing['id']}$", status=403, times=1000)
    world.fake.clear_failures()
    assert buttons_of(world.fake.message(int(growing["id"]))) == buttons_of(growing), "a stale ⏹"
    async with run_bot(shutdown_grace=0.2):
        await world.press(GENERAL, int(growing["id"]), buttons_of(growing)["⏹ Stop"])
        answer = await world.wait_text(GENERAL, "already finished", after=int(growing["id"]))
        await world.wait_until(lambda: not world.fake.message(int(growing["id"]))["components"], what="no ⏹")
        # The question the shutdown cut off was journaled: the next start asks it once more.
        await world.wait_until(
            lambda: len(chat_completion_bodies(sim)) == 2, within=30, what="the question asked again"
        )
    assert answer["content"] == "This answer has already finished."
    first, again = chat_completion_bodies(sim)
    assert again["messages"][-1] == first["messages"][-1], "the same question, not the stop press"


async def test_continue_goes_on_after_the_output_cap_in_a_new_message(
    world: DiscordWorld, run_bot: RunBot, sim: Simulator
) -> None:
    async with run_bot(chat_max_tokens=40):
        await world.say(GENERAL, f"<@{BOT_ID}> {STORY}")
        cut = await world.wait_message(GENERAL, has_button("▶️ Continue"))
        await world.press(GENERAL, int(cut["id"]), buttons_of(cut)["▶️ Continue"])
        more = await world.wait_message(GENERAL, has_button("🔄"), after=int(cut["id"]))
    first, continued = (b["messages"] for b in chat_completion_bodies(sim))
    assert continued[-2]["role"] == "assistant" and continued[-2]["content"] in cut["content"]
    assert "Continue it exactly where it stopped" in continued[-1]["content"]
    assert texts_of(continued, "user")[:-1] == texts_of(first, "user")
    assert more["content"] and more["id"] != cut["id"]


async def test_a_reply_to_another_members_image_is_part_of_the_question(
    world: DiscordWorld, run_bot: RunBot, sim: Simulator
) -> None:
    async with run_bot():
        photo = await world.say(GENERAL, "my new car", user=world.bob, attachments=[png("red")])
        await world.say(GENERAL, f"<@{BOT_ID}> what colour is it?", reply_to=int(photo["id"]))
        await world.wait_text(GENERAL, "Echo")
    [body] = chat_completion_bodies(sim)
    question = body["messages"][-1]["content"]
    text = question[0]["text"]
    assert "a message from bob" in text and "quoted as data" in text
    assert "my new car" in text and text.rstrip().endswith("what colour is it?")
    assert [p["type"] for p in question[1:]] == ["image_url"], "the replied-to image rides along"
    assert question[1]["image_url"]["url"].startswith("data:image/")

"""Stopping with slow pictures in flight on Discord: the same grace as Telegram; newcomers are told
the bot is restarting; what the grace cut off is answered by the next start."""

from __future__ import annotations

import asyncio

import pytest

from simulator import Fault, Simulator
from tests.e2e.discord.conftest import BOT_ID, GENERAL, DiscordWorld, RunBot
from tests.e2e.discord.test_chat_streaming import pace
from tests.e2e.gateway_log import chat_completion_bodies
from tests.fakes.discord_api import FakeInteraction, FileSpec

GENERATIONS = "/v1/images/generations"
COMPLETIONS = "/v1/chat/completions"


def generations(sim: Simulator) -> int:
    return len([r for r in sim.requests if r.path == GENERATIONS])


async def test_running_work_gets_its_grace_and_the_rest_is_answered_after_a_restart(
    world: DiscordWorld, run_bot: RunBot, sim: Simulator
) -> None:
    sim.add_fault(Fault(route=GENERATIONS, kind="slow_first_byte", delay=1.0, times=2))
    sim.add_fault(Fault(route=GENERATIONS, kind="slow_first_byte", delay=60.0, times=None))
    newcomer: asyncio.Task[FakeInteraction] | None = None
    async with run_bot(shutdown_grace=3.0, image_jobs_per_chat=0):
        for n in range(3):
            await world.slash(GENERAL, "image", prompt=f"a fox {n}")
        await world.wait_until(lambda: generations(sim) == 3, what="three pictures in flight")

        async def late_arrival() -> FakeInteraction:
            await asyncio.sleep(0.5)  # the bot is draining by then
            return await world.slash(GENERAL, "help", user=world.bob)

        newcomer = asyncio.create_task(late_arrival())
    # Leaving the block stopped the bot: it drained for up to 3 s before closing.
    assert newcomer is not None
    told = await newcomer
    pictures_before_restart = len([m for m in world.bot_messages(GENERAL) if m["attachments"]])
    async with run_bot(shutdown_grace=3.0):
        notice = await world.wait_text(GENERAL, "interrupted by a restart")
    assert pictures_before_restart == 2, "the two that fit in the grace were delivered"
    assert sim.ledger.images >= 2
    assert told.callback_type == 4 and "restarting" in str(told.callback_data), "a newcomer hears why"
    assert "may have been charged" in notice["content"]


async def test_a_message_cut_off_by_the_grace_is_answered_by_the_next_start_file_and_all(
    world: DiscordWorld, run_bot: RunBot, sim: Simulator
) -> None:
    """A question with a file, still waiting for the gateway when the grace ends: it was
    journaled on arrival, so the next start answers it in its channel (the file fetched
    again from Discord's CDN) instead of leaving it unanswered."""
    sim.add_fault(Fault(route=COMPLETIONS, kind="slow_first_byte", delay=60.0, times=1))
    notes: FileSpec = ("notes.txt", b"the fox in these notes is red", "text/plain")
    async with run_bot(shutdown_grace=0.2):
        asked = await world.say(GENERAL, f"<@{BOT_ID}> what colour is the fox?", attachments=[notes])
        await world.wait_until(lambda: len(chat_completion_bodies(sim)) == 1, what="the question asked")
    async with run_bot():
        answer = await world.wait_text(GENERAL, "Echo:", after=int(asked["id"]))
    _first, again = chat_completion_bodies(sim)
    question = str(again["messages"][-1]["content"])
    assert "what colour is the fox?" in question
    assert "the fox in these notes is red" in question, "the file, fetched again"
    assert answer["message_reference"]["message_id"] == asked["id"], "a reply to the question"


@pytest.mark.sim(chunk_delay=0.0)
async def test_an_answer_cut_off_by_the_grace_says_so_and_the_next_start_answers(
    world: DiscordWorld, run_bot: RunBot, sim: Simulator
) -> None:
    """The part already shown would read like the whole answer: it is marked as cut off, its
    ⏹ goes, and the full answer comes from the next start."""
    sim.add_fault(Fault(route=COMPLETIONS, kind="slow_stream", delay=0.3, times=1))
    async with run_bot(shutdown_grace=0.2) as app:
        pace(app)
        asked = await world.say(GENERAL, f"<@{BOT_ID}> [[long:900]] tell me a story")
        growing = await world.wait_message(GENERAL, lambda m: m["content"].startswith("Echo:"))
    shown = world.fake.message(int(growing["id"]))
    assert shown["content"].endswith("[interrupted by a restart: the full answer follows]"), shown["content"]
    assert not shown.get("components"), "no ⏹ on an answer that is not running"
    async with run_bot():
        answer = await world.wait_message(
            GENERAL,
            lambda m: m["content"].startswith("Echo:") and m["id"] != growing["id"],
            after=int(asked["id"]),
        )
    assert "interrupted" not in answer["content"]

"""Stopping with slow pictures in flight on Discord: the same grace as Telegram; newcomers are told
the bot is restarting; what the grace cut off is answered by the next start."""

from __future__ import annotations

import asyncio

from simulator import Fault, Simulator
from tests.e2e.discord.conftest import GENERAL, DiscordWorld, RunBot
from tests.fakes.discord_api import FakeInteraction

GENERATIONS = "/v1/images/generations"


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

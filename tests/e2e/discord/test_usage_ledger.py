"""Discord: /usage in every channel adds up to exactly what the gateway billed."""

from __future__ import annotations

from simulator import Fault, Simulator
from tests.e2e.discord.conftest import BOT_ID, GENERAL, RANDOM, DiscordWorld, RunBot
from tests.e2e.usage_text import report_totals


async def test_mixed_workload_across_channels_and_users_equals_the_gateways_totals(
    world: DiscordWorld, run_bot: RunBot, sim: Simulator
) -> None:
    async with run_bot():
        await world.say(GENERAL, f"<@{BOT_ID}> first question")
        await world.wait_text(GENERAL, "Echo: first question")
        await world.say(RANDOM, f"<@{BOT_ID}> second question", user=world.bob)
        await world.wait_text(RANDOM, "Echo: second question")
        await world.slash(RANDOM, "image", prompt="a fox", user=world.bob)
        await world.wait_image(RANDOM)
        sim.add_fault(Fault(route="/v1/chat/completions", kind="status", status=500))
        await world.say(GENERAL, f"<@{BOT_ID}> this one fails")
        await world.wait_text(GENERAL, "⚠️")
        dm = world.dm(world.bob)
        await world.say(dm, "a private question", user=world.bob)
        await world.wait_text(dm, "Echo: a private question")
        reports = []
        for channel in (GENERAL, RANDOM, dm):
            await world.slash(channel, "usage")
            reports.append(report_totals((await world.wait_text(channel, "📊"))["content"]))

    billed = sim.ledger
    assert sum(r.requests for r in reports) == sum(billed.requests.values()) == 4
    assert sum(r.input_tokens for r in reports) == billed.input_tokens
    assert sum(r.output_tokens for r in reports) == billed.output_tokens
    assert sum(r.images for r in reports) == billed.images == 1
    assert all(r.requests for r in reports)

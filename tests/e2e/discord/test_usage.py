"""/usage on Discord: this channel's records only, with the top users in a server."""

from __future__ import annotations

from bot.simulator import Simulator
from tests.e2e.discord.conftest import BOT_ID, GENERAL, RANDOM, DiscordWorld, RunBot


def section(report: str, title: str) -> str:
    return next(line for line in report.splitlines() if line.startswith(title + ":"))


async def test_usage_in_a_server_channel_matches_the_gateway_and_ignores_other_chats(
    world: DiscordWorld, run_bot: RunBot, sim: Simulator
) -> None:
    async with run_bot():
        await world.say(GENERAL, f"<@{BOT_ID}> first question")
        await world.wait_text(GENERAL, "Echo: first question")
        await world.say(GENERAL, f"<@{BOT_ID}> second question", user=world.bob)
        await world.wait_text(GENERAL, "Echo: second question")
        await world.slash(GENERAL, "image", prompt="a fox")
        await world.wait_image(GENERAL)
        billed = sim.ledger.as_dict()  # everything so far happened in #general

        await world.say(RANDOM, f"<@{BOT_ID}> elsewhere")
        await world.wait_text(RANDOM, "Echo: elsewhere")
        dm = world.dm(world.bob)
        await world.say(dm, "private", user=world.bob)
        await world.wait_text(dm, "Echo: private")

        await world.slash(GENERAL, "usage")
        report = (await world.wait_text(GENERAL, "Usage in this chat"))["content"]

    requests = sum(billed["requests"].values())
    expected = (
        f"All time: {requests} requests, {billed['input_tokens']:,} in / "
        f"{billed['output_tokens']:,} out tokens, {billed['images']} images"
    )
    assert section(report, "All time") == expected
    assert section(report, "Today") == expected.replace("All time", "Today")
    top = report[report.index("Top users:") :]
    assert "alice: 2 requests" in top  # a chat turn and an image
    assert "bob: 1 requests" in top


async def test_usage_in_a_dm_is_private_and_without_a_user_table(
    world: DiscordWorld, run_bot: RunBot, sim: Simulator
) -> None:
    async with run_bot():
        await world.say(GENERAL, f"<@{BOT_ID}> in public")
        await world.wait_text(GENERAL, "Echo: in public")
        dm = world.dm()
        await world.slash(dm, "usage")
        report = (await world.wait_text(dm, "Usage in this chat"))["content"]
        assert section(report, "All time") == "All time: nothing yet."
        assert "Top users" not in report

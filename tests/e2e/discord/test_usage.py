"""/usage on Discord: this channel's records only, top users in a server, and its views."""

from __future__ import annotations

import re

from simulator import Simulator
from tests.e2e.discord.conftest import BOT_ID, GENERAL, RANDOM, DiscordWorld, RunBot


async def spend_in_general(world: DiscordWorld) -> None:
    await world.say(GENERAL, f"<@{BOT_ID}> first question")
    await world.wait_text(GENERAL, "Echo: first question")
    await world.say(GENERAL, f"<@{BOT_ID}> second question", user=world.bob)
    await world.wait_text(GENERAL, "Echo: second question")
    await world.slash(GENERAL, "image", prompt="a fox")
    await world.wait_image(GENERAL)


async def test_usage_in_a_server_channel_matches_the_gateway_and_ignores_other_chats(
    world: DiscordWorld, run_bot: RunBot, sim: Simulator
) -> None:
    async with run_bot():
        await spend_in_general(world)
        billed = sim.ledger.as_dict()  # everything so far happened in #general

        await world.say(RANDOM, f"<@{BOT_ID}> elsewhere")
        await world.wait_text(RANDOM, "Echo: elsewhere")
        dm = world.dm(world.bob)
        await world.say(dm, "private", user=world.bob)
        await world.wait_text(dm, "Echo: private")

        interaction = await world.slash(GENERAL, "usage")
        report = (await world.wait_text(GENERAL, "Usage in this chat"))["content"]

    assert interaction.original is not None and interaction.original["content"] == "**/usage**"
    requests = sum(billed["requests"].values())
    assert re.search(rf"^Total: \*\*\$[0-9.]+\*\* · {requests} requests$", report, re.MULTILINE), report
    tokens = billed["input_tokens"] + billed["output_tokens"]
    detail = (
        f"{tokens:,} tokens ({billed['input_tokens']:,} in / {billed['output_tokens']:,} out)"
        f" · {billed['images']} image{'' if billed['images'] == 1 else 's'}"
    )
    assert detail in report.splitlines()
    top = report[report.index("**Top users**") :]
    assert "• alice: " in top and "• bob: " in top


async def test_usage_views_me_chart_and_export(world: DiscordWorld, run_bot: RunBot) -> None:
    async with run_bot():
        await spend_in_general(world)

        await world.slash(GENERAL, "usage", user=world.bob, show="me", period="today")
        mine = (await world.wait_text(GENERAL, "Your usage in this chat"))["content"]
        assert " · 1 request\n" in mine and "Top users" not in mine

        await world.slash(GENERAL, "usage", show="chart")
        chart = await world.wait_message(GENERAL, lambda m: "Daily cost" in m["content"])
        assert chart["attachments"][0]["filename"].endswith(".png")

        await world.slash(GENERAL, "usage", user=world.bob, show="export")
        await world.wait_text(GENERAL, "Only this chat's admins can export")
        await world.slash(GENERAL, "usage", show="export")  # Alice owns the server
        export = await world.wait_message(GENERAL, lambda m: "usage events" in m["content"])
        (attachment,) = export["attachments"]
        name, data, _ = world.fake.attachment(int(attachment["id"]))
        assert name.endswith(".csv") and data.count(b"\n") >= 4  # a header and three events


async def test_usage_in_a_dm_is_private_and_without_a_user_table(
    world: DiscordWorld, run_bot: RunBot, dm: int
) -> None:
    async with run_bot():
        await world.say(GENERAL, f"<@{BOT_ID}> in public")
        await world.wait_text(GENERAL, "Echo: in public")
        await world.slash(dm, "usage")
        report = (await world.wait_text(dm, "Usage in this chat"))["content"]
        assert "Nothing used in this period." in report
        assert "Top users" not in report

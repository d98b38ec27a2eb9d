"""Two replicas sharing Discord: shards [0] and [1] of 2 each answer their own guilds, once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

from bot.app import App, open_app
from simulator import Simulator
from tests.e2e.discord.conftest import BOT_ID, GENERAL, DiscordWorld, make_settings
from tests.fakes.discord_api import guild_id_for_shard

OTHER_GUILD = guild_id_for_shard(1, 2)
OTHER_CHANNEL = 701


@asynccontextmanager
async def replica(
    world: DiscordWorld, sim: Simulator, tmp_path: Path, database_url: str, shard: int
) -> AsyncIterator[App]:
    settings = make_settings(
        sim,
        world.fake,
        tmp_path,
        database_url=database_url,
        discord_shard_count=2,
        discord_shard_ids=str(shard),
    )
    async with open_app(settings, console=False) as app:
        serving = asyncio.create_task(app.serve())
        try:
            yield app
        finally:
            serving.cancel()
            await asyncio.gather(serving, return_exceptions=True)


async def test_two_replicas_split_the_guilds_and_answer_each_message_once(
    world: DiscordWorld, sim: Simulator, tmp_path: Path, database_url: str
) -> None:
    world.fake.add_guild(
        OTHER_GUILD, "Other Guild", [(OTHER_CHANNEL, "other")], members=[world.alice, world.bob]
    )
    async with AsyncExitStack() as stack:
        for shard in (0, 1):
            await stack.enter_async_context(replica(world, sim, tmp_path, database_url, shard))
        await world.fake.wait_ready(shards=[0, 1])
        dm = world.fake.dm_channel(world.alice).id
        for channel in (GENERAL, OTHER_CHANNEL):
            await world.say(channel, f"<@{BOT_ID}> hello in {channel}")
        await world.say(dm, "hello in private")
        for channel, text in (
            (GENERAL, f"hello in {GENERAL}"),
            (OTHER_CHANNEL, f"hello in {OTHER_CHANNEL}"),
            (dm, "hello in private"),
        ):
            await world.wait_text(channel, f"Echo: {text}")
        await world.settle(1.0)
        syncs = [c for c in world.fake.calls if c.method == "PUT" and "/commands" in c.path]
    for channel in (GENERAL, OTHER_CHANNEL, dm):
        answers = [m for m in world.bot_messages(channel) if "Echo:" in m["content"]]
        assert len(answers) == 1, f"{channel}: {answers}"
    shards = {d.shard_id for d in world.fake.deliveries_of("MESSAGE_CREATE")}
    assert shards == {0, 1}, "each replica got its own guild's messages"
    assert len(syncs) == 1, "one replica registered the slash commands"
    assert sim.ledger.requests.get("chat") == 3

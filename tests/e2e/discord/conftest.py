"""A running bot: the real discord.py client against a fake Discord, the simulator as gateway.

`run_bot()` starts the whole application the way production does (`bot.app.open_app`,
`App.serve`) with only the Discord platform configured; `DiscordWorld` wraps the fake
with the users, guild and channels every test shares, and small waiting helpers.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from discord.gateway import DiscordWebSocket
from discord.http import Route
from pydantic import SecretStr

from adapters.discord.platform import DiscordPlatform
from bot.app import App, open_app
from bot.config import Settings
from simulator import Simulator
from tests.e2e.conftest import SIM_KEY
from tests.fakes.discord_api import JSON, FakeDiscord, FakeInteraction, FakeUser, FileSpec, RestCall

BOT_ID = 9000
GUILD = 500
GENERAL = 600
RANDOM = 601
TIMEOUT = 10.0

Message = JSON


@dataclass
class DiscordWorld:
    """The fake Discord plus the people and places of every test."""

    fake: FakeDiscord
    alice: FakeUser  # server owner
    bob: FakeUser

    # --- what users do ---

    async def say(
        self,
        channel_id: int,
        text: str = "",
        *,
        user: FakeUser | None = None,
        attachments: list[FileSpec] | None = None,
        reply_to: int | None = None,
        voice_seconds: float | None = None,
    ) -> Message:
        guild = self.fake.channel(channel_id).guild_id
        return await self.fake.send_message(
            channel_id,
            user or self.alice,
            text,
            attachments=attachments or [],
            reference_message_id=reply_to,
            guild_id=guild,
            voice_seconds=voice_seconds,
        )

    async def slash(
        self,
        channel_id: int,
        name: str,
        *,
        user: FakeUser | None = None,
        attachments: dict[str, FileSpec] | None = None,
        **options: Any,
    ) -> FakeInteraction:
        guild = self.fake.channel(channel_id).guild_id
        return await self.fake.slash_command(
            channel_id, user or self.alice, name, options=options, attachments=attachments, guild_id=guild
        )

    async def press(self, channel_id: int, message_id: int, custom_id: str) -> FakeInteraction:
        guild = self.fake.channel(channel_id).guild_id
        return await self.fake.press_button(channel_id, self.alice, message_id, custom_id, guild_id=guild)

    def dm(self, user: FakeUser | None = None) -> int:
        return self.fake.dm_channel(user or self.alice).id

    # --- what the bot did ---

    def bot_messages(self, channel_id: int, *, after: int = 0) -> list[Message]:
        """The bot's messages in a channel (current content), newer than message id `after`."""
        return [
            m
            for m in self.fake.messages_in(channel_id)
            if int(m["author"]["id"]) == BOT_ID and int(m["id"]) > after
        ]

    async def wait_until(
        self, condition: Callable[[], Any], *, within: float = TIMEOUT, what: str = "condition"
    ) -> Any:
        """Poll until `condition()` is truthy; returns its value."""
        deadline = time.monotonic() + within
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                calls = "\n".join(f"  {c}" for c in self.fake.calls[-30:])
                raise AssertionError(f"timed out waiting for {what}; last calls:\n{calls}")
            await asyncio.sleep(0.02)

    async def wait_message(
        self,
        channel_id: int,
        predicate: Callable[[Message], bool],
        *,
        after: int = 0,
        within: float = TIMEOUT,
    ) -> Message:
        """The first bot message after `after` whose current state satisfies `predicate`."""

        def found() -> Message | None:
            return next((m for m in self.bot_messages(channel_id, after=after) if predicate(m)), None)

        message: Message = await self.wait_until(found, within=within, what=f"a bot message in {channel_id}")
        return message

    async def wait_text(self, channel_id: int, needle: str, *, after: int = 0) -> Message:
        return await self.wait_message(channel_id, lambda m: needle in m["content"], after=after)

    async def wait_image(self, channel_id: int, *, after: int = 0) -> Message:
        return await self.wait_message(channel_id, lambda m: bool(m["attachments"]), after=after)

    async def settle(self, seconds: float = 0.3) -> None:
        """Give the bot a moment in which it must *not* do something."""
        await asyncio.sleep(seconds)


def make_settings(
    sim: Simulator, fake: FakeDiscord, tmp_path: Path, database_url: str, **extra: Any
) -> Settings:
    values: dict[str, Any] = {
        "wenwen_api_key": SecretStr(SIM_KEY),
        "wenwen_base_url": sim.base_url,
        "discord_bot_token": SecretStr("x.y.z"),
        "discord_api_url": fake.base_url,
        "database_url": database_url,
        "data_dir": tmp_path,
        "mj_poll_interval": 0.1,
        "progress_edit_interval": 0.2,
        "chat_timeout": 5.0,
        "image_timeout": 5.0,
        "mj_timeout": 5.0,
        "connect_timeout": 2.0,
        # A test ends by stopping the bot: work still running gets a short grace, not 90 s.
        "shutdown_grace": 2.0,
        "http_port": 0,  # any free port: tests run side by side
    }
    values.update(extra)
    return Settings(_env_file=None, **values)


@pytest.fixture
async def world() -> AsyncIterator[DiscordWorld]:
    # The adapter aims discord.py's process-wide REST base and gateway at the fake; undo it after.
    saved = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    fake = FakeDiscord(application_id=BOT_ID, bot_user_id=BOT_ID)
    await fake.start()
    alice = fake.user(101, "alice")
    bob = fake.user(102, "bob")
    fake.add_guild(GUILD, "Test Guild", [(GENERAL, "general"), (RANDOM, "random")], members=[alice, bob])
    try:
        yield DiscordWorld(fake, alice, bob)
    finally:
        await fake.stop()
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = saved


@pytest.fixture
def dm(world: DiscordWorld) -> int:
    """Alice's direct messages with the bot (a channel id)."""
    return world.dm()


def discord_platform(app: App) -> DiscordPlatform:
    (platform,) = [p for p in app.platforms if isinstance(p, DiscordPlatform)]
    return platform


RunBot = Callable[..., AbstractAsyncContextManager[App]]


COMMAND_SYNC = re.compile(r"^/applications/\d+(/guilds/\d+)?/commands$")


def command_syncs(fake: FakeDiscord) -> list[RestCall]:
    """Every slash-command upload the fake has answered (failed ones included)."""
    return [c for c in fake.calls if c.method == "PUT" and c.status and COMMAND_SYNC.match(c.path)]


@pytest.fixture
def run_bot(sim: Simulator, world: DiscordWorld, tmp_path: Path, database_url: str) -> RunBot:
    """`async with run_bot(**settings) as app:` — connected to the fake inside the block.

    Entering it twice in one test is a restart: a new client and platform, the same database.
    """

    @asynccontextmanager
    async def running(**extra: Any) -> AsyncIterator[App]:
        settings = make_settings(sim, world.fake, tmp_path, database_url, **extra)
        async with open_app(settings, console=False) as app:
            previous = world.fake.identify_payload
            syncs = len(command_syncs(world.fake))
            serving = asyncio.create_task(app.serve(), name="serve")
            try:
                # Not client.is_ready(): discord.py fires on_ready only after waiting 2 s for
                # more guilds, while events flow as soon as the fake has sent READY and the
                # guilds. Commands are registered before the client even dials the gateway.
                def identified() -> bool:
                    if serving.done():
                        serving.result()  # surface a crash at start-up
                    return world.fake.identify_payload is not previous

                await world.wait_until(identified, what="the discord client to identify")
                await world.fake.wait_ready()
                # Slash commands are registered in the background, next to the gateway.
                await world.wait_until(
                    lambda: len(command_syncs(world.fake)) > syncs, what="slash command registration"
                )
                yield app
            finally:
                serving.cancel()
                await asyncio.gather(serving, return_exceptions=True)

    return running

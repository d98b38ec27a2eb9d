"""The fake Discord server driven by a real discord.py Client."""

from __future__ import annotations

import asyncio
import io
import logging
import warnings
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from PIL import Image

from tests.fakes.discord_api import FakeDiscord, point_discord_py_at

with warnings.catch_warnings():
    # discord.py imports the stdlib audioop, deprecated since 3.11; tests turn warnings into errors.
    warnings.simplefilter("ignore", DeprecationWarning)
    import discord
    from discord import app_commands

GUILD = 500
CHANNEL = 600
APP = 9000


def _png(color: str = "red", size: tuple[int, int] = (4, 3)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord(application_id=APP, bot_user_id=APP, bot_name="wenwen")
    fake.add_guild(id=GUILD, name="Team", channels=[(CHANNEL, "general")])
    restore = point_discord_py_at(await fake.start())
    try:
        yield fake
    finally:
        restore()
        await fake.stop()


class Bot(discord.Client):
    """A tiny bot exercising what wenwen's adapter relies on."""

    def __init__(self) -> None:
        intents = discord.Intents.default()
        intents.message_content = True
        # guild_ready_timeout: discord.py waits this long after the last GUILD_CREATE before on_ready.
        super().__init__(intents=intents, guild_ready_timeout=0.05)
        self.tree = app_commands.CommandTree(self)
        self.seen: dict[str, Any] = {}
        self.clicked = asyncio.Event()
        self.command_done = asyncio.Event()
        bot = self

        class Confirm(discord.ui.View):
            @discord.ui.button(label="Again", custom_id="again", style=discord.ButtonStyle.primary)
            async def again(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
                await interaction.response.send_message("clicked!", ephemeral=True)
                bot.seen["click_user"] = interaction.user.id
                bot.clicked.set()

        @self.tree.command(name="imagine", description="Draw a picture", guild=discord.Object(GUILD))
        @app_commands.describe(prompt="what to draw", image="reference image")
        async def imagine(
            interaction: discord.Interaction, prompt: str, image: discord.Attachment | None = None
        ) -> None:
            await interaction.response.defer(thinking=True)
            data = await image.read() if image else b""
            bot.seen["command"] = (prompt, image.filename if image else None, data)
            bot.seen["member"] = interaction.user
            msg = await interaction.followup.send(
                f"here is {prompt}",
                file=discord.File(io.BytesIO(_png("blue")), "out.png"),
                view=Confirm(timeout=None),
                wait=True,
            )
            bot.seen["followup_id"] = msg.id
            bot.command_done.set()

    async def setup_hook(self) -> None:
        await self.tree.sync(guild=discord.Object(GUILD))

    async def on_message(self, message: discord.Message) -> None:
        if message.author == self.user:
            return
        self.seen["message"] = message
        if message.attachments:
            data = await message.attachments[0].read()
            await message.reply("got it", file=discord.File(io.BytesIO(data[::-1]), "back.bin"))


async def _run(bot: Bot, fake: FakeDiscord) -> asyncio.Task[None]:
    task = asyncio.create_task(bot.start("fake-token"))
    await fake.wait_ready(timeout=10)
    await asyncio.wait_for(bot.wait_until_ready(), 10)
    return task


async def _shutdown(bot: Bot, task: asyncio.Task[None]) -> None:
    await bot.close()
    await asyncio.wait_for(task, 10)


async def test_end_to_end_with_discord_py(fake: FakeDiscord) -> None:
    ann = fake.user(id=1001, name="ann")
    bot = Bot()
    task = await _run(bot, fake)
    try:
        assert fake.intents == bot.intents.value
        assert fake.gateway_connections[0]["compress"] == "zlib-stream"
        sync = await fake.wait_for("PUT", rf"/applications/{APP}/guilds/{GUILD}/commands$")
        assert sync.status == 200
        [cmd] = fake.registered_commands[GUILD]
        assert cmd["name"] == "imagine"
        assert [o["type"] for o in cmd["options"]] == [3, 11]
        assert bot.get_guild(GUILD) is not None
        assert bot.get_channel(CHANNEL) is not None

        # MESSAGE_CREATE with an attachment; the bot downloads it and replies with a file.
        png = _png()
        incoming = await fake.send_message(
            CHANNEL, ann, "hello <@9000>", attachments=[("cat.png", png, "image/png")]
        )
        att = incoming["attachments"][0]
        assert (att["width"], att["height"], att["size"]) == (4, 3, len(png))
        reply = await fake.wait_for("POST", rf"/channels/{CHANNEL}/messages$")
        assert reply.status == 200
        assert reply.files == [("back.bin", png[::-1], "application/octet-stream")]
        assert reply.json is not None
        assert reply.json["message_reference"]["message_id"] == int(incoming["id"])
        seen: discord.Message = bot.seen["message"]
        assert seen.guild is not None and seen.guild.id == GUILD
        assert seen.content == "hello <@9000>"
        assert bot.user in seen.mentions
        assert isinstance(seen.author, discord.Member)
        stored = fake.messages_in(CHANNEL)
        assert [m["content"] for m in stored] == ["hello <@9000>", "got it"]
        assert stored[1]["type"] == 19
        assert stored[1]["referenced_message"]["id"] == incoming["id"]
        assert fake.cdn_hits  # the attachment was fetched from the fake CDN

        # Slash command: defer, then a follow-up carrying a file and a button view.
        ref = _png("green", (8, 8))
        inter = await fake.slash_command(
            CHANNEL,
            ann,
            "imagine",
            options={"prompt": "a cat"},
            attachments={"image": ("c.png", ref, "image/png")},
            guild_id=GUILD,
        )
        await asyncio.wait_for(bot.command_done.wait(), 10)
        assert bot.seen["command"] == ("a cat", "c.png", ref)
        assert isinstance(bot.seen["member"], discord.Member)
        record = fake.interaction_responses(inter.id)
        assert record.callback_type == 5
        [followup] = record.followups
        assert followup["content"] == "here is a cat"
        assert followup["attachments"][0]["filename"] == "out.png"
        assert followup["attachments"][0]["content_type"] == "image/png"
        assert followup["components"][0]["components"][0]["custom_id"] == "again"
        assert int(followup["id"]) == bot.seen["followup_id"]
        placeholder = record.original
        assert placeholder is not None and placeholder["flags"] & 128  # still "thinking…"

        # Pressing the button runs the view callback, which answers with an ephemeral message.
        press = await fake.press_button(CHANNEL, ann, int(followup["id"]), "again", guild_id=GUILD)
        await asyncio.wait_for(bot.clicked.wait(), 10)
        assert bot.seen["click_user"] == ann.id
        await fake.wait_for("POST", rf"/interactions/{press.id}/")
        clicked = fake.interaction_responses(press.id)
        assert clicked.callback_type == 4
        assert clicked.original is not None and clicked.original["flags"] & 64

        # Discord's validation surfaces as discord.py exceptions.
        channel = bot.get_channel(CHANNEL)
        assert isinstance(channel, discord.TextChannel)
        with pytest.raises(discord.HTTPException) as too_long:
            await channel.send("x" * 2001)
        assert too_long.value.status == 400 and too_long.value.code == 50035
        with pytest.raises(discord.HTTPException) as too_big:
            fake.upload_limit = 10
            await channel.send(file=discord.File(io.BytesIO(b"x" * 11), "big.bin"))
        assert too_big.value.status == 413 and too_big.value.code == 40005

        # A 429 is retried by discord.py after retry_after.
        fake.fail_next("POST", rf"/channels/{CHANNEL}/messages$", status=429)
        sent = await channel.send("after rate limit")
        statuses = [
            c.status
            for c in fake.calls
            if isinstance(c.json, dict) and c.json.get("content") == "after rate limit"
        ]
        assert statuses == [429, 200]
        fake.upload_limit = 1024 * 1024
        edited = await sent.edit(content="edited", attachments=[discord.File(io.BytesIO(png), "p.png")])
        assert edited.edited_at is not None
        assert [a.filename for a in edited.attachments] == ["p.png"]
        assert [v["content"] for v in fake.message_versions(sent.id)] == ["after rate limit", "edited"]

        # op 7 RECONNECT: the client resumes, and events sent meanwhile are replayed.
        await fake.request_reconnect()
        await fake.send_message(CHANNEL, ann, "while reconnecting")
        for _ in range(100):
            if fake.resumes and bot.seen["message"].content == "while reconnecting":
                break
            await asyncio.sleep(0.05)
        assert fake.resumes == 1
        assert bot.seen["message"].content == "while reconnecting"
    finally:
        await _shutdown(bot, task)


async def test_dm_message_and_late_interaction(fake: FakeDiscord, caplog: pytest.LogCaptureFixture) -> None:
    bob = fake.user(id=1002, name="bob")
    dm = fake.dm_channel(bob)
    fake.interaction_deadline = 0.2
    errors: list[BaseException] = []
    bot = Bot()

    @bot.tree.command(name="slow", description="answers too late")
    async def slow(interaction: discord.Interaction) -> None:
        await asyncio.sleep(0.3)
        try:
            await interaction.response.send_message("late")
        except discord.NotFound as exc:
            errors.append(exc)

    task = await _run(bot, fake)
    try:
        await bot.tree.sync()  # global commands
        assert [c["name"] for c in fake.registered_commands[None]] == ["slow"]

        await fake.send_message(dm.id, bob, "hi in private")
        for _ in range(100):
            if "message" in bot.seen:
                break
            await asyncio.sleep(0.02)
        msg: discord.Message = bot.seen["message"]
        assert msg.guild is None and isinstance(msg.channel, discord.DMChannel)
        mark = len(fake.calls)
        await (await bot.fetch_user(bob.id)).send("pong")
        await fake.wait_for("POST", r"/users/@me/channels$", since=mark)
        assert [m["content"] for m in fake.messages_in(dm.id)] == ["hi in private", "pong"]

        with caplog.at_level(logging.ERROR):
            await fake.slash_command(dm.id, bob, "slow")
            for _ in range(100):
                if errors:
                    break
                await asyncio.sleep(0.02)
        assert isinstance(errors[0], discord.NotFound) and errors[0].code == 10062
    finally:
        await _shutdown(bot, task)


async def test_raw_rest_rules(fake: FakeDiscord) -> None:
    """Discord's error codes, checked without discord.py's client-side guards in the way."""
    ann = fake.user(id=1001, name="ann")
    headers = {"Authorization": "Bot t"}
    api = fake.api_url
    async with aiohttp.ClientSession() as http, http.ws_connect(fake.gateway_url) as ws:
        hello = await ws.receive_json()
        assert hello["op"] == 10
        await ws.send_json({"op": 2, "d": {"token": "t", "intents": 513, "properties": {}}})
        await fake.wait_ready()
        ready = await ws.receive_json()
        assert ready["t"] == "READY" and ready["s"] == 1
        guild_create = await ws.receive_json()
        assert guild_create["t"] == "GUILD_CREATE" and guild_create["s"] == 2
        await ws.send_json({"op": 1, "d": 2})
        assert (await ws.receive_json())["op"] == 11

        async with http.post(f"{api}/channels/{CHANNEL}/messages", json={}, headers=headers) as r:
            assert r.status == 400
            assert r.headers["Content-Type"] == "application/json"
            assert (await r.json())["code"] == 50006
        async with http.patch(
            f"{api}/channels/{CHANNEL}/messages/123", json={"content": "x"}, headers=headers
        ) as r:
            assert r.status == 404 and (await r.json())["code"] == 10008
        async with http.post(f"{api}/channels/{CHANNEL}/messages", json={"content": "x"}) as r:
            assert r.status == 401

        inter = await fake.slash_command(CHANNEL, ann, "imagine", options={"prompt": "p"})
        event = await ws.receive_json()
        assert event["t"] == "INTERACTION_CREATE" and event["d"]["data"]["options"][0]["type"] == 3
        cb = f"{api}/interactions/{inter.id}/{inter.token}/callback"
        followup = f"{api}/webhooks/{APP}/{inter.token}?wait=true"
        async with http.post(followup, json={"content": "too early"}) as r:
            assert r.status == 404 and (await r.json())["code"] == 10015
        async with http.post(cb, json={"type": 4, "data": {"content": "hi"}}) as r:
            assert r.status == 204
        async with http.post(cb, json={"type": 4, "data": {"content": "again"}}) as r:
            assert r.status == 400 and (await r.json())["code"] == 40060
        async with http.post(followup, json={"content": "more"}) as r:
            assert r.status == 200 and (await r.json())["content"] == "more"
        original = f"{api}/webhooks/{APP}/{inter.token}/messages/@original"
        async with http.patch(original, json={"content": "hi!"}) as r:
            assert (await r.json())["edited_timestamp"] is not None
        assert inter.original is not None and inter.original["content"] == "hi!"
        assert [e.kind for e in inter.events] == ["callback", "followup", "edit"]

        fake.interaction_deadline = 0.0
        late = await fake.slash_command(CHANNEL, ann, "imagine", options={"prompt": "p"})
        await asyncio.sleep(0.01)
        async with http.post(f"{api}/interactions/{late.id}/{late.token}/callback", json={"type": 5}) as r:
            assert r.status == 404 and (await r.json())["code"] == 10062

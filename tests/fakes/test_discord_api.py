"""The fake Discord server driven by a real discord.py Client."""

from __future__ import annotations

import asyncio
import io
import logging
import warnings
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from PIL import Image

from tests.fakes.discord_api import FakeDiscord, guild_id_for_shard, point_discord_py_at, shard_for_guild

with warnings.catch_warnings():
    # discord.py imports the stdlib audioop, deprecated since 3.11; tests turn warnings into errors.
    warnings.simplefilter("ignore", DeprecationWarning)
    import discord
    from discord import app_commands

GUILD = 500
CHANNEL = 600
THREAD = 610
APP = 9000
# A second guild whose events belong to shard 1 of 2 (GUILD, like any small id, is on shard 0).
OTHER_GUILD = guild_id_for_shard(1, 2)
OTHER_CHANNEL = 700


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
                bot.seen["click_channel"] = interaction.channel
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
            bot.seen["command_channel"] = interaction.channel
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


class ShardBot(discord.AutoShardedClient):
    """One replica of a sharded bot: ``shard_ids`` of ``shard_count``, recording its messages."""

    def __init__(self, shard_ids: list[int], shard_count: int = 2) -> None:
        intents = discord.Intents.default()
        intents.message_content = True
        super().__init__(
            intents=intents, shard_count=shard_count, shard_ids=shard_ids, guild_ready_timeout=0.05
        )
        self.messages: list[discord.Message] = []

    async def on_message(self, message: discord.Message) -> None:
        if message.author != self.user:
            self.messages.append(message)


async def _until(condition: Callable[[], object], what: str, timeout: float = 10.0) -> None:  # noqa: ASYNC109
    for _ in range(int(timeout / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


async def _identify(ws: aiohttp.ClientWebSocketResponse, shard: list[int] | None = None) -> None:
    """Be a bare gateway client: read HELLO, send IDENTIFY (with ``shard`` if given)."""
    assert (await ws.receive_json())["op"] == 10
    d: dict[str, Any] = {"token": "t", "intents": 513, "properties": {}}
    if shard is not None:
        d["shard"] = shard
    await ws.send_json({"op": 2, "d": d})


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


async def test_shards_split_the_guilds_and_dms_go_to_shard_zero(fake: FakeDiscord) -> None:
    fake.add_guild(OTHER_GUILD, "Other", [(OTHER_CHANNEL, "lobby")])
    assert (shard_for_guild(GUILD, 2), shard_for_guild(OTHER_GUILD, 2)) == (0, 1)
    ann = fake.user(id=1001, name="ann")
    dm = fake.dm_channel(ann)
    # Two replicas in one process: discord.py's REST base and gateway are process-wide anyway.
    first, second = ShardBot([0]), ShardBot([1])
    tasks = [asyncio.create_task(b.start("fake-token")) for b in (first, second)]
    try:
        await fake.wait_ready(shards=[0, 1])
        await asyncio.wait_for(asyncio.gather(first.wait_until_ready(), second.wait_until_ready()), 10)
        assert sorted(s.shard for s in fake.sessions()) == [(0, 2), (1, 2)]
        assert sorted(p["shard"] for p in fake.identify_payloads) == [[0, 2], [1, 2]]
        assert fake.identify_payload in fake.identify_payloads
        # READY lists only the shard's guilds, and only their GUILD_CREATEs follow.
        assert [g.id for g in first.guilds] == [GUILD]
        assert [g.id for g in second.guilds] == [OTHER_GUILD]
        assert [d.shard_id for d in fake.deliveries_of("GUILD_CREATE", OTHER_GUILD)] == [1]

        here = await fake.send_message(CHANNEL, ann, "to shard 0", guild_id=GUILD)
        there = await fake.send_message(OTHER_CHANNEL, ann, "to shard 1", guild_id=OTHER_GUILD)
        private = await fake.send_message(dm.id, ann, "in private")
        await _until(lambda: len(first.messages) == 2 and len(second.messages) == 1, "messages")
        assert [m.content for m in first.messages] == ["to shard 0", "in private"]
        assert [m.content for m in second.messages] == ["to shard 1"]
        for msg, shard in ((here, 0), (there, 1), (private, 0)):
            assert [d.shard_id for d in fake.deliveries_of("MESSAGE_CREATE", msg["id"])] == [shard]

        # The replica owning a guild answers there; the echo of its reply stays on that shard.
        reply = await second.messages[0].reply("pong")
        assert [d.shard_id for d in fake.deliveries_of("MESSAGE_CREATE", reply.id)] == [1]
        inter = await fake.slash_command(OTHER_CHANNEL, ann, "anything", guild_id=OTHER_GUILD)
        assert [d.shard_id for d in fake.deliveries_of("INTERACTION_CREATE", inter.id)] == [1]

        # A guild joined later reaches only its shard.
        late = guild_id_for_shard(0, 2, n=1)
        fake.add_guild(late, "Late", [(800, "new")])
        await _until(lambda: first.get_guild(late) is not None, "the late guild on shard 0")
        assert second.get_guild(late) is None

        # Gateway control picks a shard: only shard 1 reconnects, and what it missed is replayed.
        await fake.request_reconnect(shard_id=1)
        missed = await fake.send_message(OTHER_CHANNEL, ann, "while away", guild_id=OTHER_GUILD)
        await _until(lambda: fake.resumes == 1 and second.messages[-1].content == "while away", "a RESUME")
        assert [d.shard_id for d in fake.deliveries_of("MESSAGE_CREATE", missed["id"])] == [1]
        assert sorted(s.shard for s in fake.sessions()) == [(0, 2), (1, 2)]

        # A second session on shard 1 (a replica started with the same shard) gets everything
        # shard 1 gets: deliveries show the duplicate.
        async with aiohttp.ClientSession() as http, http.ws_connect(fake.gateway_url) as ws:
            await _identify(ws, [1, 2])
            await fake.wait_ready()
            assert sorted(s.shard for s in fake.sessions()) == [(0, 2), (1, 2), (1, 2)]
            twice = await fake.send_message(OTHER_CHANNEL, ann, "who answers?", guild_id=OTHER_GUILD)
            await _until(lambda: second.messages[-1].content == "who answers?", "shard 1's copy")
            copies = fake.deliveries_of("MESSAGE_CREATE", twice["id"])
            assert [d.shard_id for d in copies] == [1, 1]
            assert len({d.connection_id for d in copies}) == 2
        await _until(lambda: len(fake.sessions()) == 2, "the extra session to end")
    finally:
        for bot in (first, second):
            await bot.close()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)


async def test_a_shard_that_does_not_fit_is_refused(fake: FakeDiscord) -> None:
    headers = {"Authorization": "Bot t"}
    fake.recommended_shards = 2
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{fake.api_url}/gateway/bot", headers=headers) as r:
            info = await r.json()
        assert info["shards"] == 2 and info["session_start_limit"]["max_concurrency"] == 1

        for shard in ([2, 2], [0, 0], [-1, 2], "0"):
            async with http.ws_connect(fake.gateway_url) as ws:
                await _identify(ws, shard)  # type: ignore[arg-type]  # deliberately malformed too
                assert (await ws.receive()).type is aiohttp.WSMsgType.CLOSE
                assert ws.close_code == 4010, shard

        fake.max_guilds_per_shard = 0
        async with http.ws_connect(fake.gateway_url) as ws:
            await _identify(ws)
            await ws.receive()
            assert ws.close_code == 4011
        fake.max_guilds_per_shard = 2500
        assert fake.sessions() == []

    # Shard 1 of 3 while shard 0 of 2 is live: discord.py gives up with the close code.
    good, bad = ShardBot([0]), ShardBot([1], shard_count=3)
    task = asyncio.create_task(good.start("fake-token"))
    try:
        await fake.wait_ready(shards=[0])
        with pytest.raises(discord.ConnectionClosed) as refused:
            await asyncio.wait_for(bad.start("fake-token"), 10)
        assert refused.value.code == 4010
        assert [s.shard for s in fake.sessions()] == [(0, 2)]
        async with aiohttp.ClientSession() as http, http.ws_connect(fake.gateway_url) as ws:
            await _identify(ws)  # no "shard" means [0, 1]: does not fit next to shards of 2 either
            await ws.receive()
            assert ws.close_code == 4010
    finally:
        await good.close()
        await asyncio.wait_for(task, 10)
    assert fake.sessions() == []


async def test_threads_are_channels_of_their_own(fake: FakeDiscord) -> None:
    ann = fake.user(id=1001, name="ann")
    fake.add_thread(CHANNEL, THREAD, "long chat", owner=ann)  # before connecting: in GUILD_CREATE
    bot = Bot()
    task = await _run(bot, fake)
    try:
        thread = bot.get_channel(THREAD)
        assert isinstance(thread, discord.Thread) and thread.parent_id == CHANNEL
        assert thread.type is discord.ChannelType.public_thread and thread.owner_id == ann.id

        incoming = await fake.send_message(THREAD, ann, "hello thread", guild_id=GUILD)
        assert incoming["channel_id"] == str(THREAD)
        await _until(lambda: "message" in bot.seen, "the thread message")
        seen: discord.Message = bot.seen["message"]
        assert isinstance(seen.channel, discord.Thread) and seen.channel.id == THREAD
        assert seen.channel.parent == bot.get_channel(CHANNEL)

        # The bot answers into the thread: reply, typing, edit; the thread fetches as a thread.
        async with seen.channel.typing():
            reply = await seen.reply("answer in the thread")
        await fake.wait_for("POST", rf"/channels/{THREAD}/typing$")
        await reply.edit(content="edited answer")
        assert [m["content"] for m in fake.messages_in(THREAD)] == ["hello thread", "edited answer"]
        assert fake.messages_in(CHANNEL) == []
        assert fake.thread(THREAD).message_count == 2
        fetched = await bot.fetch_channel(THREAD)
        assert isinstance(fetched, discord.Thread) and fetched.parent_id == CHANNEL

        # A slash command and a button in the thread name the thread as their channel.
        inter = await fake.slash_command(THREAD, ann, "imagine", options={"prompt": "a cat"}, guild_id=GUILD)
        assert inter.payload["channel_id"] == str(THREAD)
        assert inter.payload["channel"]["type"] == 11
        assert inter.payload["channel"]["parent_id"] == str(CHANNEL)
        await asyncio.wait_for(bot.command_done.wait(), 10)
        assert bot.seen["command_channel"].id == THREAD
        [followup] = fake.interaction_responses(inter.id).followups
        assert followup["channel_id"] == str(THREAD)
        await fake.press_button(THREAD, ann, int(followup["id"]), "again", guild_id=GUILD)
        await asyncio.wait_for(bot.clicked.wait(), 10)
        assert isinstance(bot.seen["click_channel"], discord.Thread)
        assert bot.seen["click_channel"].id == THREAD

        # Threads made while connected arrive as THREAD_CREATE; the bot can start its own.
        fake.add_thread(CHANNEL, THREAD + 1, "later")
        await _until(lambda: isinstance(bot.get_channel(THREAD + 1), discord.Thread), "THREAD_CREATE")
        channel = bot.get_channel(CHANNEL)
        assert isinstance(channel, discord.TextChannel)
        root = await channel.send("start here")
        spun = await root.create_thread(name="spin-off")
        assert spun.id == root.id and spun.parent_id == CHANNEL and spun.owner_id == APP
        assert fake.message(root.id)["thread"]["id"] == str(root.id)
        with pytest.raises(discord.HTTPException) as again:
            await root.create_thread(name="twice")
        assert again.value.code == 160004
        fresh = await channel.create_thread(name="fresh", type=discord.ChannelType.public_thread)
        assert fresh.type is discord.ChannelType.public_thread and fresh.me is not None
        await _until(lambda: bot.get_channel(fresh.id) is not None, "the bot's own thread")
        assert {t.id for t in await channel.guild.active_threads()} == {THREAD, THREAD + 1, root.id, fresh.id}

        # Posting in an archived thread reopens it; in a locked one it is refused.
        fake.archive_thread(THREAD)
        await fetched.send("wake up")
        assert not fake.thread(THREAD).archived
        fake.archive_thread(THREAD, locked=True)
        with pytest.raises(discord.HTTPException) as locked:
            await fetched.send("let me in")
        assert locked.value.code == 50083
    finally:
        await _shutdown(bot, task)


class ModalBot(discord.Client):
    """Opens a modal when its button is pressed; discord.py's own Modal reads the submission."""

    def __init__(self) -> None:
        super().__init__(intents=discord.Intents.default(), guild_ready_timeout=0.05)
        self.answers: list[tuple[int, str]] = []
        self.answered = asyncio.Event()
        bot = self

        class Ask(discord.ui.Modal, title="Your prompt"):
            prompt: discord.ui.TextInput[Any] = discord.ui.TextInput(
                label="Prompt", custom_id="prompt", style=discord.TextStyle.paragraph, max_length=20
            )

            async def on_submit(self, interaction: discord.Interaction) -> None:
                bot.answers.append((interaction.user.id, self.prompt.value))
                await interaction.response.defer()
                bot.answered.set()

        self.ask = Ask

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        if interaction.type is discord.InteractionType.component:
            await interaction.response.send_modal(self.ask(custom_id="ask:1"))


async def test_a_modal_opened_by_a_button_is_filled_in_and_submitted(fake: FakeDiscord) -> None:
    ann = fake.user(id=1001, name="ann")
    bob = fake.user(id=1002, name="bob")
    bot = ModalBot()
    task = asyncio.create_task(bot.start("fake-token"))
    await fake.wait_ready(timeout=10)
    await asyncio.wait_for(bot.wait_until_ready(), 10)
    try:
        view = discord.ui.View(timeout=None)
        view.add_item(discord.ui.Button(label="Write", custom_id="write"))
        channel = bot.get_channel(CHANNEL)
        assert isinstance(channel, discord.TextChannel)
        posted = await channel.send("pick", view=view)
        press = await fake.press_button(CHANNEL, ann, posted.id, "write", guild_id=GUILD)
        await _until(lambda: press.callback_type == 9, "the modal")
        assert press.callback_data["custom_id"] == "ask:1" and press.callback_data["title"] == "Your prompt"
        with pytest.raises(ValueError, match="only shown to the person"):
            await fake.submit_modal(CHANNEL, bob, press, {"prompt": "mine"}, guild_id=GUILD)
        with pytest.raises(ValueError, match="would refuse"):
            await fake.submit_modal(CHANNEL, ann, press, {"prompt": "x" * 21}, guild_id=GUILD)
        submitted = await fake.submit_modal(CHANNEL, ann, press, {"prompt": "a red fox"}, guild_id=GUILD)
        await asyncio.wait_for(bot.answered.wait(), 10)
        assert bot.answers == [(ann.id, "a red fox")]
        assert submitted.type == 5 and submitted.callback_type == 6  # deferred update of the message
        with pytest.raises(ValueError, match="showed no modal"):
            await fake.submit_modal(CHANNEL, ann, submitted, {"prompt": "again"}, guild_id=GUILD)
    finally:
        await bot.close()
        await asyncio.wait_for(task, 10)

"""One process serving Telegram and Discord keeps one ledger: apart per chat, equal to the bill.

Issue #5: after a mixed workload (chat, photo edit, /image, /imagine and a button press) in
two Telegram chats and two Discord chats, each chat's `/usage all` shows exactly what that
chat cost the gateway, the four add up to the simulator's own totals, and the database says
the same. A Telegram private chat and a Discord channel share the number 600, and the people
share their user ids, so any mix-up of chat keys or users would show.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from discord.gateway import DiscordWebSocket
from discord.http import Route
from pydantic import SecretStr

from bot.app import App, open_app
from bot.config import Settings
from simulator import Simulator
from tests.e2e.discord.conftest import BOT_ID, DiscordWorld, Message, make_settings
from tests.e2e.images import make_image
from tests.e2e.telegram.conftest import BOT_NAME, TOKEN
from tests.e2e.telegram.reports import reply, usage
from tests.e2e.usage_text import report_totals, section
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.telegram_api import JSON, Call, FakeTelegram

SHARED_ID = 600  # the Discord channel #general, and the Telegram user Cy (so her private chat)
GUILD = 500
TEAM = -100400  # a Telegram group

# requests, input tokens, output tokens, images, Midjourney tasks
Counts = tuple[int, int, int, int, int]


@dataclass
class Both:
    tg: FakeTelegram
    dc: DiscordWorld


@pytest.fixture
async def both() -> AsyncIterator[Both]:
    saved = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY  # discord.py's process-wide seams
    tg = FakeTelegram(token=TOKEN, bot_username=BOT_NAME)
    dc = FakeDiscord(application_id=BOT_ID, bot_user_id=BOT_ID)
    await tg.start()
    await dc.start()
    alice, bob = dc.user(101, "alice"), dc.user(102, "bob")
    dc.add_guild(GUILD, "Test Guild", [(SHARED_ID, "general")], members=[alice, bob])
    try:
        yield Both(tg, DiscordWorld(dc, alice, bob))
    finally:
        await dc.stop()
        await tg.stop()
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = saved


@asynccontextmanager
async def serving(settings: Settings, both: Both) -> AsyncIterator[App]:
    """The application as production runs it, connected to both fakes inside the block."""
    async with open_app(settings, console=False) as app:
        task = asyncio.create_task(app.serve(), name="serve")
        try:

            def identified() -> bool:
                if task.done():
                    task.result()  # surface a crash at start-up
                return both.dc.fake.identify_payload is not None

            await both.dc.wait_until(identified, what="the discord client to identify")
            await both.dc.fake.wait_ready()
            await both.tg.wait_for("setMyCommands", timeout=10)
            yield app
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


def billed(sim: Simulator) -> Counts:
    ledger = sim.ledger
    requests = sum(ledger.requests.values())
    return (requests, ledger.input_tokens, ledger.output_tokens, ledger.images, ledger.mj_tasks)


def minus(a: Counts, b: Counts) -> Counts:
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2], a[3] - b[3], a[4] - b[4])


def shown(text: str) -> Counts:
    t = report_totals(text)
    return (t.requests, t.input_tokens, t.output_tokens, t.images, t.mj_tasks)


async def tg_photo(tg: FakeTelegram, chat: JSON, count: int) -> Call:
    """The `count`-th photo the bot delivered in a Telegram chat."""
    return await tg.wait_for(
        "sendPhoto", lambda c: c.ok and c.result["chat"]["id"] == chat["id"], timeout=15, count=count
    )


def has_buttons(message: Message) -> bool:
    return bool(message["attachments"]) and bool(message["components"])


def button(message: Message, label: str) -> str:
    ids = {c["label"]: c["custom_id"] for row in message["components"] for c in row["components"]}
    return ids[label]


async def dc_usage(dc: DiscordWorld, channel_id: int) -> str:
    latest = max(int(m["id"]) for m in dc.fake.messages_in(channel_id))
    await dc.slash(channel_id, "usage", period="all")
    report = await dc.wait_text(channel_id, "📊", after=latest)
    return str(report["content"])


async def test_mixed_workload_on_both_platforms_adds_up_to_the_gateways_totals(
    both: Both, sim: Simulator, tmp_path: Path, database_url: str
) -> None:
    tg, dc = both.tg, both.dc
    ann, bob = tg.user(101, "Ann", "ann"), tg.user(102, "Bob", "bob")
    cy = tg.user(SHARED_ID, "Cy", "cy")
    team, private = tg.group_chat(id=TEAM, title="Team"), tg.private_chat(cy)
    settings = make_settings(
        sim,
        dc.fake,
        tmp_path,
        database_url,
        telegram_bot_token=SecretStr(TOKEN),
        telegram_api_url=tg.base_url,
        album_wait=0.3,
        mj_poll_interval=0.05,
    )

    async def in_team() -> None:
        await reply(tg, team, ann, "/ask what is a ledger", "Echo: what is a ledger")
        tg.send_text(team, bob, "/image a quill")
        await tg_photo(tg, team, 1)
        tg.send_photo(team, ann, make_image("red"), caption=f"@{BOT_NAME} make it blue")
        await tg_photo(tg, team, 2)

    async def in_private() -> None:
        tg.send_text(private, cy, "/imagine a lighthouse")
        grid = await tg_photo(tg, private, 1)
        u1 = grid.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        tg.press_button(private, cy, grid.result["message_id"], u1)
        await tg_photo(tg, private, 2)
        await reply(tg, private, cy, "a private thought", "Echo: a private thought")

    async def in_general() -> None:
        await dc.say(SHARED_ID, f"<@{BOT_ID}> what is a journal")
        await dc.wait_text(SHARED_ID, "Echo: what is a journal")
        await dc.say(SHARED_ID, f"<@{BOT_ID}> and a diary?", user=dc.bob)
        await dc.wait_text(SHARED_ID, "Echo: and a diary?")
        await dc.slash(SHARED_ID, "image", prompt="a fox", user=dc.bob)
        await dc.wait_image(SHARED_ID)
        photo = ("red.png", make_image("red", fmt="PNG"), "image/png")
        asked = await dc.say(SHARED_ID, f"<@{BOT_ID}> make it blue", attachments=[photo])
        await dc.wait_image(SHARED_ID, after=int(asked["id"]))

    async def in_dm() -> None:
        dm = dc.dm()
        await dc.slash(dm, "imagine", prompt="a red fox")
        grid = await dc.wait_message(dm, has_buttons)
        await dc.press(dm, int(grid["id"]), button(grid, "U1"))
        await dc.wait_image(dm, after=int(grid["id"]))
        said = await dc.say(dm, "hello there")
        await dc.wait_text(dm, "Echo: hello there", after=int(said["id"]))

    dm_key = f"dc:{dc.dm()}"
    workload: dict[str, Callable[[], Awaitable[None]]] = {
        f"tg:{TEAM}": in_team,
        f"tg:{SHARED_ID}": in_private,
        f"dc:{SHARED_ID}": in_general,
        dm_key: in_dm,
    }
    spent: dict[str, Counts] = {}  # what each chat cost the gateway, by the simulator's ledger
    reports: dict[str, str] = {}
    async with serving(settings, both) as app:
        for key, work in workload.items():
            before = billed(sim)
            await work()
            spent[key] = minus(billed(sim), before)
        reports[f"tg:{TEAM}"] = await usage(tg, team, ann)
        reports[f"tg:{SHARED_ID}"] = await usage(tg, private, cy)
        reports[f"dc:{SHARED_ID}"] = await dc_usage(dc, SHARED_ID)
        reports[dm_key] = await dc_usage(dc, dc.dm())
        async with app.services.db.unit_of_work() as uow:
            stored = {key: await uow.usage.report(key, top_n=10) for key in workload}
            overall, chats = await uow.usage.by_chat(None, None, top_n=10)
        prices = app.services.prices

    # Each chat shows exactly what its own requests cost the gateway: nothing of the others.
    assert {key: shown(text) for key, text in reports.items()} == spent
    assert all(c[0] > 0 for c in spent.values())
    assert spent[f"tg:{SHARED_ID}"][4] == 2 and spent[dm_key][4] == 2, "/imagine and U1 in each"
    # Together: the simulator's own totals, to the token.
    assert tuple(map(sum, zip(*spent.values(), strict=True))) == billed(sim)
    assert sum(sim.ledger.requests.values()) == overall.requests

    # The database agrees with every message, the chat keys never collide.
    assert {chat.chat_key for chat in chats} == set(workload)
    for key, text in reports.items():
        totals = stored[key].totals
        assert shown(text) == (
            totals.requests,
            totals.input_tokens,
            totals.output_tokens,
            totals.images,
            totals.mj_tasks,
        ), key
        (total_line,) = [line for line in text.splitlines() if line.startswith("Total: ")]
        assert prices.money(totals.cost) in total_line, key
        people = {line.removeprefix("• ").split(":")[0] for line in section(text, "Top users")}
        in_a_group = key in (f"tg:{TEAM}", f"dc:{SHARED_ID}")
        assert people == ({u.user_name for u in stored[key].top_users} if in_a_group else set()), key
    # Same user ids on both platforms, each person counted in their own chats only.
    who = {key: {(u.user_id, u.user_name) for u in report.top_users} for key, report in stored.items()}
    assert who[f"tg:{TEAM}"] == {("101", "ann"), ("102", "bob")}
    assert who[f"dc:{SHARED_ID}"] == {("101", "alice"), ("102", "bob")}
    assert who[f"tg:{SHARED_ID}"] == {(str(SHARED_ID), "cy")}
    assert who[dm_key] == {("101", "alice")}

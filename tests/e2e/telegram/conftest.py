"""A running bot: real aiogram polling a fake Bot API server, the simulator as gateway."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from adapters.telegram.platform import MENU_LANGUAGES
from bot.app import App, open_app
from bot.config import Settings
from simulator import Simulator
from tests.e2e.conftest import SIM_KEY
from tests.fakes.telegram_api import JSON, FakeTelegram

TOKEN = "123456:TEST-token-abcdef"
BOT_NAME = "wenwen_test_bot"
TEAM = -100400  # the usual group's id


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    fake = FakeTelegram(token=TOKEN, bot_username=BOT_NAME)
    await fake.start()
    yield fake
    await fake.stop()


# The usual cast: Ann talks to the bot in private and owns the group "Team", where Bob is a member.


@pytest.fixture
def ann(tg: FakeTelegram) -> JSON:
    return tg.user(id=1001, first_name="Ann", username="ann")


@pytest.fixture
def bob(tg: FakeTelegram) -> JSON:
    return tg.user(id=1002, first_name="Bob", username="bob")


@pytest.fixture
def private(tg: FakeTelegram, ann: JSON) -> JSON:
    """Ann's private chat with the bot."""
    return tg.private_chat(ann)


@pytest.fixture
def group(tg: FakeTelegram, ann: JSON) -> JSON:
    """The group "Team"; Ann is its owner (what getChatMember reports), everyone else a member."""
    team = tg.group_chat(id=TEAM, title="Team")
    tg.set_admins(team, owner=ann)
    return team


def make_settings(sim: Simulator, tg_base: str, tmp_path: Path, database_url: str, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "wenwen_api_key": SecretStr(SIM_KEY),
        "wenwen_base_url": sim.base_url,
        "telegram_bot_token": SecretStr(TOKEN),
        "telegram_api_url": tg_base,
        "database_url": database_url,
        "data_dir": tmp_path,
        "mj_poll_interval": 0.05,
        "progress_edit_interval": 0.0,
        "album_wait": 0.3,
        "chat_timeout": 5.0,
        "image_timeout": 5.0,
        "mj_timeout": 5.0,
        "connect_timeout": 2.0,
        # A test ends by stopping the bot: work still running gets a short grace, not 90 s.
        "shutdown_grace": 2.0,
        "http_port": 0,  # any free port: tests run side by side
    }
    values.update(extra)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


RunBot = Callable[..., AbstractAsyncContextManager[App]]


@pytest.fixture
def run_bot(sim: Simulator, tg: FakeTelegram, tmp_path: Path, database_url: str) -> RunBot:
    """`async with run_bot(**settings) as app:` — the bot is polling inside the block.

    Entering it twice in one test is a restart: a new bot, the same database.
    """

    @asynccontextmanager
    async def running(**extra: Any) -> AsyncIterator[App]:
        settings = make_settings(sim, tg.base_url, tmp_path, database_url, **extra)
        started = len(tg.calls_of("setMyCommands"))
        async with open_app(settings) as app:
            serving = asyncio.create_task(app.serve())
            try:
                # Polling, with its command menu (published beside it) in place.
                await tg.wait_for("setMyCommands", timeout=10, count=started + len(MENU_LANGUAGES))
                yield app
            finally:
                serving.cancel()
                await asyncio.gather(serving, return_exceptions=True)

    return running


# What Telegram puts in `from` when someone speaks for a chat rather than as themselves.
ANONYMOUS_ADMIN = {"id": 1087968824, "is_bot": True, "first_name": "Group", "username": "GroupAnonymousBot"}
CHANNEL_BOT = {"id": 136817688, "is_bot": True, "first_name": "Channel", "username": "Channel_Bot"}


def send_as_chat(tg: FakeTelegram, chat: dict[str, Any], sender_chat: dict[str, Any], text: str) -> None:
    """A message signed by a chat: an anonymous admin (the group itself) or a channel.

    The fake has no public way to set `sender_chat`, so this builds the message as Telegram
    does: the placeholder bot in `from`, the real sender in `sender_chat`.
    """
    placeholder = ANONYMOUS_ADMIN if sender_chat["id"] == chat["id"] else CHANNEL_BOT
    message = tg._user_message(chat, placeholder, {"text": text, "sender_chat": dict(sender_chat)})
    if text.startswith("/"):
        command = text.split(maxsplit=1)[0]
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    tg._queue("message", message)

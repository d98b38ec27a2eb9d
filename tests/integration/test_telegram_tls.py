"""The Bot API over https: the Telegram session trusts what the bot's shared TLS context trusts.

That context is httpx's (`SSL_CERT_FILE`, else certifi's bundle), so a self-hosted Bot API
server with a private certificate is reached the same way as the gateway and downloads.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramNetworkError
from aiohttp import web

from adapters.telegram.session import FastSession
from tests.fakes.tls import self_signed, serving

TOKEN = "123456:TLS-token-abcdef"
ME = {"id": 1, "is_bot": True, "first_name": "Wenwen", "username": "wenwen_bot"}


@pytest.fixture
async def bot_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[TelegramAPIServer]:
    """A Bot API answering getMe over https, its certificate trusted through SSL_CERT_FILE."""
    cert, key = self_signed(tmp_path, "localhost")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))

    async def get_me(request: web.Request) -> web.Response:
        assert request.match_info["token"] == TOKEN
        return web.json_response({"ok": True, "result": ME})

    app = web.Application()
    app.router.add_route("*", "/bot{token}/getMe", get_me)
    runner = web.AppRunner(app)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    await web.SockSite(runner, sock, ssl_context=serving(cert, key)).start()
    yield TelegramAPIServer.from_base(f"https://localhost:{sock.getsockname()[1]}")
    await runner.cleanup()


async def test_the_bot_api_is_reached_with_the_shared_context(bot_api: TelegramAPIServer) -> None:
    bot = Bot(TOKEN, session=FastSession(api=bot_api, tls=httpx.create_ssl_context()))
    try:
        me = await bot.get_me()
    finally:
        await bot.session.close()
    assert me.username == "wenwen_bot"


async def test_aiogram_on_its_own_would_not_trust_that_certificate(bot_api: TelegramAPIServer) -> None:
    # aiogram's session reads certifi's bundle only: what the test above shows is the change.
    bot = Bot(TOKEN, session=AiohttpSession(api=bot_api))
    try:
        with pytest.raises(TelegramNetworkError, match=r"(?i)certificate"):
            await bot.get_me()
    finally:
        await bot.session.close()

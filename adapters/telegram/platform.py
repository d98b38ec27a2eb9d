"""Telegram through aiogram 3: long polling, album collection, command menu."""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import PRODUCTION, TelegramAPIServer
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, CallbackQuery, Message
from aiogram.utils.token import TokenValidationError

from adapters.telegram.albums import AlbumCollector
from adapters.telegram.outbox import TelegramMessenger
from adapters.telegram.stream import StreamPacing
from adapters.telegram.translate import BotIdentity, incoming_from_callback, incoming_from_messages
from bot.config import Settings
from bot.core import Core
from bot.errors import ConfigError
from bot.model import Incoming
from bot.router import menu
from bot.tasks import TaskSet

log = logging.getLogger(__name__)


class TelegramPlatform:
    def __init__(self, settings: Settings, core: Core) -> None:
        assert settings.telegram_bot_token is not None
        server = (
            TelegramAPIServer.from_base(settings.telegram_api_url)
            if settings.telegram_api_url
            else PRODUCTION
        )
        try:
            self._bot = Bot(
                settings.telegram_bot_token.get_secret_value(), session=AiohttpSession(api=server)
            )
        except TokenValidationError:
            raise ConfigError("Invalid setting TELEGRAM_BOT_TOKEN: not a bot token") from None
        self._core = core
        self.messenger = TelegramMessenger(
            self._bot,
            pacing=StreamPacing(
                draft_interval=settings.stream_draft_interval,
                edit_interval=settings.stream_edit_interval,
                group_first_delay=settings.stream_group_first_delay,
            ),
        )
        self._albums = AlbumCollector(settings.album_wait, self._on_album)
        self._me: BotIdentity | None = None
        self._tasks = TaskSet("telegram")
        self._shutdown_grace = settings.shutdown_grace
        self._dispatcher = Dispatcher()
        router = Router(name="wenwen")
        router.message.register(self._on_message)
        router.callback_query.register(self._on_callback)
        self._dispatcher.include_router(router)
        self._dispatcher.startup.register(self._on_startup)

    async def _on_startup(self) -> None:
        me = await self._bot.get_me()
        self._me = BotIdentity(me.id, me.username or "")
        await self._bot.set_my_commands(
            [BotCommand(command=spec.name, description=spec.description) for spec in menu()]
        )
        log.info("telegram: polling as @%s", self._me.username)

    async def run(self) -> None:
        polling = asyncio.create_task(
            self._dispatcher.start_polling(self._bot, handle_signals=False, close_bot_session=False)
        )
        try:
            await asyncio.shield(polling)
        finally:
            if not polling.done():
                await self._dispatcher.stop_polling()
            await asyncio.gather(polling, return_exceptions=True)
            # Our handlers still use the session: stop them before closing it.
            await self._albums.close()
            # Let requests in flight finish (a photo edit may be seconds from done).
            await self._tasks.drain(self._shutdown_grace)
            await self._bot.session.close()

    # --- updates ----------------------------------------------------------------------

    async def _on_message(self, message: Message) -> None:
        # Only `message` updates are asked for (aiogram derives allowed_updates from the
        # handlers): edits and channel posts never arrive.
        if message.media_group_id:
            self._albums.add(message)
            return
        await self._on_album([message])

    async def _on_album(self, messages: list[Message]) -> None:
        assert self._me is not None
        try:
            incoming = incoming_from_messages(self._bot, self._me, messages)
        except Exception:
            log.exception("could not read telegram message %s", messages[0].message_id)
            return
        if incoming is not None:
            self._spawn(incoming)

    async def _on_callback(self, query: CallbackQuery) -> None:
        incoming = incoming_from_callback(query)
        if incoming is not None:
            self._spawn(incoming)
        # Stops the button's spinner. A press that waited out a restart can no longer be
        # answered; its work goes ahead all the same.
        try:
            await query.answer()
        except TelegramAPIError as exc:
            log.info("could not answer button press %s: %s", query.id, exc)

    def _spawn(self, incoming: Incoming) -> None:
        """Handle in the background so a slow edit never holds up other chats."""
        outbox = self.messenger.outbox_for(incoming.address, incoming.message_id)
        self._tasks.spawn(
            self._core.handle(incoming, outbox), f"message {incoming.message_id} in {incoming.address.key}"
        )

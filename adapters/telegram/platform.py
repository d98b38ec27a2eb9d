"""Telegram through aiogram 3: long polling, album collection, command menu, the inbound journal.

Every update is journaled (bot.lifecycle.inbound) by an outer middleware before it is
acknowledged: aiogram's polling runs with `handle_as_tasks=False`, so it asks for the next
batch — which confirms this one to Telegram — only after the middleware has journaled it
and handed the work to a task. A redelivered update is dropped there. An update is marked
handled when its work is done (an album's parts when the album is), so after a crash the
next start replays exactly what was accepted and never finished.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import PRODUCTION, TelegramAPIServer
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, CallbackQuery, Message, TelegramObject, Update
from aiogram.utils.token import TokenValidationError

from adapters.telegram.albums import AlbumCollector, Part
from adapters.telegram.outbox import TelegramMessenger
from adapters.telegram.stream import StreamPacing
from adapters.telegram.translate import PLATFORM, BotIdentity, incoming_from_callback, incoming_from_messages
from bot.config import Settings
from bot.core import Core
from bot.errors import ConfigError
from bot.lifecycle.inbound import Inbound
from bot.model import Incoming
from bot.router import menu
from bot.tasks import TaskSet
from storage import InboundUpdate

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class TelegramPlatform:
    def __init__(self, settings: Settings, core: Core, inbound: Inbound) -> None:
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
        self._inbound = inbound
        self.messenger = TelegramMessenger(
            self._bot,
            pacing=StreamPacing(
                draft_interval=settings.stream_draft_interval,
                edit_interval=settings.stream_edit_interval,
                group_first_delay=settings.stream_group_first_delay,
            ),
        )
        self._albums = AlbumCollector(settings.album_wait, self._album_ready)
        self._me: BotIdentity | None = None
        self._ready = asyncio.Event()
        self._tasks = TaskSet("telegram")
        self._shutdown_grace = settings.shutdown_grace
        self._dispatcher = Dispatcher()
        self._dispatcher.update.outer_middleware(self._journal)
        router = Router(name="wenwen")
        router.message.register(self._on_message)
        router.callback_query.register(self._on_callback)
        self._dispatcher.include_router(router)
        self._dispatcher.startup.register(self._on_startup)

    async def _on_startup(self) -> None:
        me = await self._bot.get_me()
        self._me = BotIdentity(me.id, me.username or "")
        self._ready.set()
        await self._bot.set_my_commands(
            [BotCommand(command=spec.name, description=spec.description) for spec in menu()]
        )
        log.info("telegram: polling as @%s", self._me.username)

    async def run(self) -> None:
        polling = asyncio.create_task(
            self._dispatcher.start_polling(
                self._bot, handle_as_tasks=False, handle_signals=False, close_bot_session=False
            )
        )
        try:
            await asyncio.shield(polling)
        finally:
            # Stop taking updates: newer ones stay queued at Telegram for the next start.
            if not polling.done():
                await self._dispatcher.stop_polling()
            await asyncio.gather(polling, return_exceptions=True)
            try:
                # Album parts still waiting are journaled: the next start handles them.
                await self._albums.close()
                # Let requests in flight finish (a photo edit may be seconds from done); what is
                # still running at the deadline is left to the next start (bot.lifecycle.recovery).
                await self._tasks.drain(self._shutdown_grace)
            finally:
                await self._bot.session.close()

    async def replay(self, update: InboundUpdate) -> None:
        """An update a gone instance journaled but never handled."""
        await asyncio.wait_for(self._ready.wait(), timeout=30)
        parsed = Update.model_validate_json(update.payload, context={"bot": self._bot})
        await self._dispatcher.feed_update(self._bot, parsed, replayed=True)

    # --- updates ----------------------------------------------------------------------

    async def _journal(self, handler: Handler, update: TelegramObject, data: dict[str, Any]) -> Any:
        """Journal first (dropping a redelivery), then handle in the background."""
        assert isinstance(update, Update)
        if not data.get("replayed"):
            payload = update.model_dump_json(exclude_unset=True)
            if not await self._inbound.accept(PLATFORM, str(update.update_id), payload):
                return None
        self._tasks.spawn(self._handle(handler, update, data), f"update {update.update_id}")
        return None

    async def _handle(self, handler: Handler, update: Update, data: dict[str, Any]) -> None:
        await handler(update, data)

    async def _on_message(self, message: Message, event_update: Update) -> None:
        # Only `message` updates are asked for (aiogram derives allowed_updates from the
        # handlers): edits and channel posts never arrive.
        part = Part(message, str(event_update.update_id))
        if message.media_group_id:
            # Handled (and marked so) when the album is complete; a late part only now.
            if not self._albums.add(part):
                await self._inbound.handled(PLATFORM, [part.update_id])
            return
        await self._on_album([part])

    async def _album_ready(self, parts: list[Part]) -> None:
        self._tasks.spawn(self._on_album(parts), f"album of update {parts[0].update_id}")

    async def _on_album(self, parts: list[Part]) -> None:
        try:
            assert self._me is not None
            try:
                incoming = incoming_from_messages(
                    self._bot, self._me, [p.message for p in parts], source=f"{PLATFORM}:{parts[0].update_id}"
                )
            except Exception:
                log.exception("could not read telegram message %s", parts[0].message.message_id)
                return
            if incoming is not None:
                await self._answer(incoming)
        finally:
            await self._inbound.handled(PLATFORM, [p.update_id for p in parts])

    async def _on_callback(self, query: CallbackQuery, event_update: Update) -> None:
        update_id = str(event_update.update_id)
        try:
            incoming = incoming_from_callback(query, source=f"{PLATFORM}:{update_id}")
            # Stops the button's spinner. A press that waited out a restart can no longer be
            # answered; its work goes ahead all the same.
            try:
                await query.answer()
            except TelegramAPIError as exc:
                log.info("could not answer button press %s: %s", query.id, exc)
            if incoming is not None:
                await self._answer(incoming)
        finally:
            await self._inbound.handled(PLATFORM, [update_id])

    async def _answer(self, incoming: Incoming) -> None:
        outbox = self.messenger.outbox_for(incoming.address, incoming.message_id)
        await self._core.handle(incoming, outbox)

"""Telegram through aiogram 3: polling or webhooks, albums, the command menu, the inbound journal.

Ingress (TELEGRAM_MODE):

* **polling** — one replica polls at a time: it holds the "telegram-poller" role
  (bot.coordination.leadership) and the others stand by, taking over when it stops or dies,
  so Telegram never sees two pollers (no 409 Conflict).
* **webhook** — every replica serves aiogram's own webhook handler on its HTTP server, at
  the path of WEBHOOK_URL, checking Telegram's secret header on every request. Albums whose
  parts reach different replicas are collected in the database and handled once.

Either way every update is journaled (bot.lifecycle.inbound) by an outer middleware before
it is acknowledged — polling runs with `handle_as_tasks=False`, so the next getUpdates (which
confirms this batch) comes only after; a webhook request is answered only after — and a
redelivered update is dropped there. An update is marked handled when its work is done (an
album's parts when the album is), so after a crash the next start replays exactly what was
accepted and never finished.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot, Dispatcher, Router
from aiogram.client.telegram import PRODUCTION, TelegramAPIServer
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, CallbackQuery, Message, MessageGenerationStopped, TelegramObject, Update
from aiogram.utils.token import TokenValidationError
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from yarl import URL

from adapters.telegram.albums import AlbumCollector, Part
from adapters.telegram.observed import CountErrors, JournalBeforeAck
from adapters.telegram.outbox import TelegramMessenger
from adapters.telegram.session import FastSession
from adapters.telegram.stream import StreamPacing
from adapters.telegram.translate import (
    PLATFORM,
    BotIdentity,
    incoming_from_callback,
    incoming_from_draft_stop,
    incoming_from_messages,
)
from bot.config import Settings, TelegramMode
from bot.coordination.leadership import Leadership
from bot.core import Core
from bot.errors import ConfigError
from bot.i18n import Lang, Tr
from bot.lifecycle.albums import SharedAlbums
from bot.lifecycle.inbound import Inbound
from bot.model import Incoming, Receipt
from bot.observability.metrics import Metrics
from bot.router import menu
from bot.tasks import TaskSet
from storage import InboundUpdate

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
POLLER = "telegram-poller"


class _WebhookHandler(SimpleRequestHandler):
    """aiogram's handler, answering 503 while this replica drains (Telegram retries elsewhere)."""

    def __init__(self, draining: Callable[[], bool], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._draining = draining

    async def handle(self, request: web.Request) -> web.Response:
        if self._draining():
            return web.Response(status=503, text="draining")
        return await super().handle(request)


# (catalog, Telegram's `language_code` for setMyCommands): None is the default menu.
MENU_LANGUAGES: tuple[tuple[Lang, str | None], ...] = ((Lang.EN, None), (Lang.ZH, "zh"))


class TelegramPlatform:
    def __init__(
        self,
        settings: Settings,
        core: Core,
        inbound: Inbound,
        *,
        leadership: Leadership,
        albums: SharedAlbums,
        metrics: Metrics,
        web_app: web.Application | None,
        tls: ssl.SSLContext,
    ) -> None:
        assert settings.telegram_bot_token is not None
        server = (
            TelegramAPIServer.from_base(settings.telegram_api_url)
            if settings.telegram_api_url
            else PRODUCTION
        )
        try:
            self._bot = Bot(
                settings.telegram_bot_token.get_secret_value(), session=FastSession(api=server, tls=tls)
            )
        except TokenValidationError:
            raise ConfigError("Invalid setting TELEGRAM_BOT_TOKEN: not a bot token") from None
        self._bot.session.middleware(CountErrors(metrics.platform_error))
        self._bot.session.middleware(JournalBeforeAck(inbound.flushed))
        self._metrics = metrics
        self._core = core
        self._inbound = inbound
        self._leadership = leadership
        self._shared_albums = albums
        self._settings = settings
        self.messenger = TelegramMessenger(
            self._bot,
            pacing=StreamPacing(
                draft_interval=settings.stream_draft_interval,
                draft_first_delay=settings.stream_draft_first_delay,
                edit_interval=settings.stream_edit_interval,
                group_first_delay=settings.stream_group_first_delay,
            ),
        )
        self._albums = AlbumCollector(settings.album_wait, self._album_ready)
        self._me: BotIdentity | None = None
        self._ready = asyncio.Event()
        self._draining = False
        self.connected = False  # for readiness: polling, or serving webhooks
        self._tasks = TaskSet("telegram")
        # No FSM: its default memory storage keeps a record for every (chat, user) it is
        # asked about and never forgets one (RSS grew ~1.8 MB per 1 000 new people).
        self._dispatcher = Dispatcher(disable_fsm=True)
        self._dispatcher.update.outer_middleware(self._journal)
        router = Router(name="wenwen")
        router.message.register(self._on_message)
        router.callback_query.register(self._on_callback)
        router.stopped_message_generation.register(self._on_draft_stopped)
        self._dispatcher.include_router(router)
        if settings.telegram_mode is TelegramMode.WEBHOOK:
            if web_app is None:
                raise ConfigError("TELEGRAM_MODE=webhook needs the HTTP server (HTTP_PORT)")
            assert settings.webhook_url is not None and settings.webhook_secret is not None
            _WebhookHandler(
                lambda: self._draining,
                dispatcher=self._dispatcher,
                bot=self._bot,
                secret_token=settings.webhook_secret.get_secret_value(),
                handle_in_background=False,  # answer only once the update is journaled
            ).register(web_app, path=URL(settings.webhook_url).path or "/")

    async def run(self) -> None:
        try:
            await self._identify()
            if self._settings.telegram_mode is TelegramMode.WEBHOOK:
                await self._serve_webhooks()
            else:
                await self._poll_while_leading()
        finally:
            # Stop taking updates: newer ones wait at Telegram (or go to other replicas).
            self._draining = True
            self.connected = False
            try:
                # Album parts still waiting are journaled: the next start handles them.
                await self._albums.close()
                # Let requests in flight finish (a photo edit may be seconds from done); what is
                # still running at the deadline is left to the next start (bot.lifecycle.recovery).
                await self._tasks.drain(self._settings.shutdown_grace)
            finally:
                await self._bot.session.close()

    async def close(self) -> None:
        # aiogram opens a new HTTP session for a call made after `run` closed the last one.
        await self._bot.session.close()

    async def replay(self, update: InboundUpdate) -> None:
        """An update a gone instance journaled but never handled."""
        async with asyncio.timeout(30):  # not wait_for: it can lose a cancellation on 3.11
            await self._ready.wait()
        parsed = Update.model_validate_json(update.payload, context={"bot": self._bot})
        await self._dispatcher.feed_update(self._bot, parsed, replayed=True)

    # --- ingress -------------------------------------------------------------------------

    async def _identify(self) -> None:
        me = await self._bot.get_me()
        self._me = BotIdentity(me.id, me.username or "")
        self._ready.set()

    async def _publish_commands(self) -> None:
        """The command menu in English for everyone, and in Chinese for Chinese-language apps."""
        catalog = self._core.deps.languages.catalog
        for lang, code in MENU_LANGUAGES:
            tr = Tr(catalog, lang)
            await self._bot.set_my_commands(
                [BotCommand(command=spec.name, description=tr(spec.description)) for spec in menu()],
                language_code=code,
            )

    async def _serve_webhooks(self) -> None:
        settings = self._settings
        assert settings.webhook_url is not None and settings.webhook_secret is not None
        allowed = self._dispatcher.resolve_used_update_types()
        info = await self._bot.get_webhook_info()
        # Set once: every replica checks, only a changed URL or update list is sent again.
        if info.url != settings.webhook_url or sorted(info.allowed_updates or []) != sorted(allowed):
            await self._bot.set_webhook(
                settings.webhook_url,
                secret_token=settings.webhook_secret.get_secret_value(),
                allowed_updates=allowed,
            )
            log.info("telegram: webhook set to %s", URL(settings.webhook_url).with_query(None))
        await self._publish_commands()
        self.connected = True
        self._metrics.role("webhook")
        log.info("telegram: serving webhooks as @%s", self._me.username if self._me else "?")
        await asyncio.Event().wait()  # the HTTP server delivers; until cancelled

    async def _poll_while_leading(self) -> None:
        try:
            while True:
                self._metrics.role("standby")
                await self._leadership.wait_for(POLLER)
                self._metrics.role("leader")
                # A webhook left from an earlier setup would make every getUpdates a 409.
                await self._bot.delete_webhook(drop_pending_updates=False)
                await self._poll_until_role_lost()
        finally:
            await self._leadership.release(POLLER)  # the next replica takes over at once

    async def _poll_until_role_lost(self) -> None:
        polling = asyncio.create_task(
            self._dispatcher.start_polling(
                self._bot, handle_as_tasks=False, handle_signals=False, close_bot_session=False
            ),
            name="telegram polling",
        )
        keeper = asyncio.create_task(self._leadership.keep(POLLER), name="telegram poller role")
        # Beside polling, not before it: the first updates need no menu (two calls to Telegram).
        menu = asyncio.create_task(self._publish_menu(), name="telegram command menu")
        self.connected = True
        log.info("telegram: polling as @%s", self._me.username if self._me else "?")
        try:
            done, _ = await asyncio.wait({polling, keeper}, return_when=asyncio.FIRST_COMPLETED)
            if polling in done:
                polling.result()  # polling never ends by itself: surface why it did
        finally:
            self.connected = False
            keeper.cancel()
            menu.cancel()
            if not polling.done():
                await self._dispatcher.stop_polling()
            await asyncio.gather(polling, keeper, menu, return_exceptions=True)

    async def _publish_menu(self) -> None:
        try:
            await self._publish_commands()
        except Exception as exc:  # the menu is a convenience: commands work without it
            log.warning("telegram: could not publish the command menu (%s)", exc)

    # --- updates ----------------------------------------------------------------------

    async def _journal(self, handler: Handler, update: TelegramObject, data: dict[str, Any]) -> Any:
        """Journal first (dropping a redelivery), then handle in the background.

        A webhook's answer acknowledges its update, so it waits for the journal. A poll's
        updates are acknowledged by the next getUpdates, which waits for them all to be
        journaled (JournalBeforeAck): the whole batch shares one transaction.
        """
        assert isinstance(update, Update)
        name = f"update {update.update_id}"
        if data.get("replayed"):
            self._tasks.spawn(self._handle(handler, update, data), name)
            return None
        fresh = self._inbound.submit(
            PLATFORM, str(update.update_id), update.model_dump_json(exclude_unset=True)
        )
        if self._settings.telegram_mode is TelegramMode.WEBHOOK:
            if await fresh:
                self._tasks.spawn(self._handle(handler, update, data), name)
            return None
        self._tasks.spawn(self._handle_if_fresh(fresh, handler, update, data), name)
        return None

    async def _handle(self, handler: Handler, update: Update, data: dict[str, Any]) -> None:
        await handler(update, data)

    async def _handle_if_fresh(
        self, fresh: asyncio.Future[bool], handler: Handler, update: Update, data: dict[str, Any]
    ) -> None:
        try:
            new = await fresh
        except Exception:
            # The database is failing: an answer still beats silence; only its crash safety is lost.
            log.warning("could not journal telegram update %s; handling it anyway", update.update_id)
            new = True
        if new:
            await handler(update, data)

    async def _on_message(self, message: Message, event_update: Update, replayed: bool = False) -> None:
        # Only `message` updates are asked for (aiogram derives allowed_updates from the
        # handlers): edits and channel posts never arrive. `replayed`: fed by `replay`.
        part = Part(message, str(event_update.update_id), replayed)
        if not message.media_group_id:
            await self._on_album([part])
        elif self._settings.telegram_mode is TelegramMode.WEBHOOK:
            await self._on_shared_part(part, event_update)
        elif not self._albums.add(part):  # handled (and marked so) when the album is complete
            await self._inbound.handled(PLATFORM, [part.update_id])  # a late part: dropped

    async def _on_shared_part(self, part: Part, update: Update) -> None:
        """Webhooks: the album's parts may be at other replicas; one of us handles it."""
        group = f"{part.message.chat.id}:{part.message.media_group_id}"
        payload = update.model_dump_json(exclude_unset=True)
        if not await self._shared_albums.add(PLATFORM, group, part.update_id, payload):
            await self._inbound.handled(PLATFORM, [part.update_id])  # the album went ahead without it
            return
        parts = await self._shared_albums.collect(PLATFORM, group)
        if not parts:
            return  # another replica has the album (and marks this part handled with it)
        messages = []
        for update_id, stored in parts:
            message = Update.model_validate_json(stored, context={"bot": self._bot}).message
            if message is not None:
                messages.append(Part(message, update_id))
        await self._on_album(sorted(messages, key=lambda p: p.message.message_id))

    async def _album_ready(self, parts: list[Part]) -> None:
        self._tasks.spawn(self._on_album(parts), f"album of update {parts[0].update_id}")

    async def _on_album(self, parts: list[Part]) -> None:
        receipt = Receipt(
            PLATFORM, tuple(p.update_id for p in parts), replayed=any(p.replayed for p in parts)
        )
        try:
            assert self._me is not None
            try:
                incoming = incoming_from_messages(
                    self._bot, self._me, [p.message for p in parts], receipt=receipt
                )
            except Exception:
                log.exception("could not read telegram message %s", parts[0].message.message_id)
                return
            if incoming is not None:
                await self._answer(incoming)
        finally:
            await self._inbound.settle(receipt)

    async def _on_callback(self, query: CallbackQuery, event_update: Update, replayed: bool = False) -> None:
        receipt = Receipt(PLATFORM, (str(event_update.update_id),), replayed=replayed)
        try:
            incoming = incoming_from_callback(query, receipt=receipt)
            # Stops the button's spinner. A press that waited out a restart can no longer be
            # answered; its work goes ahead all the same.
            try:
                await query.answer()
            except TelegramAPIError as exc:
                log.info("could not answer button press %s: %s", query.id, exc)
            if incoming is not None:
                await self._answer(incoming)
        finally:
            await self._inbound.settle(receipt)

    async def _on_draft_stopped(self, stopped: MessageGenerationStopped, event_update: Update) -> None:
        """Telegram's own stop button on a draft (a private chat's growing answer)."""
        receipt = Receipt(PLATFORM, (str(event_update.update_id),))
        try:
            payload = self.messenger.drafts.payload(stopped.chat.id, stopped.draft_id)
            if payload is None:  # finished meanwhile, or streaming at another replica
                log.info(
                    "stop pressed on draft %s in %s: not streaming here", stopped.draft_id, stopped.chat.id
                )
                return
            await self._answer(incoming_from_draft_stop(stopped, payload, receipt=receipt))
        finally:
            await self._inbound.settle(receipt)

    async def _answer(self, incoming: Incoming) -> None:
        outbox = self.messenger.outbox_for(incoming.address, incoming.message_id)
        await self._core.handle(incoming, outbox)

"""The one place that wires everything: settings → HTTP clients → database → use cases → platforms."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx
from pydantic import SecretStr
from sqlalchemy import event
from sqlalchemy.pool import QueuePool

from adapters import Journaled, Platform, Wiring, build_platforms
from bot.admission.access import Access
from bot.admission.admission import Admission, Caps
from bot.admission.permissions import Permissions
from bot.chat.llm import Llm
from bot.chat.memory import Memory, MemorySettings
from bot.chat.running import RemoteStops, RunningAnswers
from bot.chat.tools import Tools
from bot.config import Settings
from bot.coordination.choose import Shared, shared_state
from bot.coordination.leadership import Leadership
from bot.core import Core, Deps
from bot.errors import ConfigError
from bot.gateway.client import GatewayClient, Timeouts
from bot.gateway.downloads import Downloader, DownloadPolicy
from bot.gateway.transport import gateway_client, uses_aiohttp
from bot.i18n import Catalog
from bot.lifecycle.albums import SharedAlbums
from bot.lifecycle.inbound import Inbound
from bot.lifecycle.instance import Instance
from bot.lifecycle.jobs import Jobs
from bot.lifecycle.recovery import Recovery
from bot.midjourney.tracker import MjTracker, TrackerTiming
from bot.observability import Check, Health, HttpServer, Metrics, build_web_app, database_check, redis_check
from bot.usage.budgets import Budgets
from bot.usage.estimates import Estimator
from bot.usage.ledger import Ledger
from bot.usage.limits import parse_limits
from bot.usage.pricing import PriceTable, load_prices
from bot.usage.recorder import Recorder
from bot.usecases.caption import Classifier
from bot.usecases.chat import ChatLimits, ChatTurns
from bot.usecases.chats import Chats, Defaults
from bot.usecases.images import ImageModels, Images
from bot.usecases.languages import Languages
from bot.usecases.midjourney import Midjourney
from bot.usecases.voice import Voice, VoiceSettings
from storage import Database, Pool
from storage.instances import liveness_for
from storage.writer import Writer

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

SIMULATOR_KEY = "sim-key"


def wants_demo(settings: Settings) -> bool:
    """No key and no platform token: the offline demo is the useful thing to do."""
    return (
        settings.wenwen_api_key is None
        and settings.telegram_bot_token is None
        and settings.discord_bot_token is None
    )


@dataclass(frozen=True)
class Services:
    """What outlives one request: the core's collaborators and the background tracker."""

    deps: Deps
    tracker: MjTracker
    jobs: Jobs

    # What tests and tools reach for most, without knowing where it lives.
    @property
    def settings(self) -> Settings:
        return self.deps.settings

    @property
    def db(self) -> Database:
        return self.deps.db

    @property
    def prices(self) -> PriceTable:
        return self.deps.prices


def build_services(
    settings: Settings,
    http: httpx.AsyncClient,
    downloader: Downloader,
    db: Database,
    instance: Instance,
    *,
    writer: Writer,
    shared: Shared,
    metrics: Metrics,
) -> Services:
    if settings.wenwen_api_key is None:
        raise ConfigError("Missing setting WENWEN_API_KEY (or run `python -m bot --simulate`).")
    gateway = GatewayClient(
        http,
        settings.wenwen_base_url,
        settings.wenwen_api_key,
        Timeouts(
            connect=settings.connect_timeout,
            chat=settings.chat_timeout,
            image=settings.image_timeout,
            mj=settings.mj_timeout,
            pool=settings.gateway_pool_wait,
        ),
        downloads=downloader,
        mj_busy_attempts=settings.mj_busy_attempts,
        mj_busy_wait=settings.mj_busy_wait,
        observe=metrics.gateway_request,
    )
    prices = load_prices(settings.prices_file)
    catalog = Catalog.load()
    recorder = Recorder(Ledger(prices), db)
    budgets = Budgets(
        db,
        prices,
        parse_limits(settings.budgets),
        ttl=settings.budget_reservation_ttl,
        instance_id=instance.id,
    )
    jobs = Jobs(db, instance.id)
    estimator = Estimator(settings, prices)
    permissions = Permissions(frozenset(settings.admin_user_ids), settings.group_settings)
    access = Access(
        db,
        permissions,
        allowed_chats=frozenset(settings.allowed_chat_ids),
        allowed_users=frozenset(settings.allowed_user_ids),
    )
    tracker = MjTracker(
        gateway,
        db,
        instance,
        TrackerTiming(
            poll_interval=settings.mj_poll_interval,
            task_deadline=settings.mj_task_deadline,
            progress_edit_interval=settings.progress_edit_interval,
        ),
        metrics,
        catalog=catalog,
    )
    admission = Admission(
        access=access,
        permissions=permissions,
        rate=shared.rate,
        image_slots=shared.image_slots,
        locks=shared.locks,
        budgets=budgets,
        estimator=estimator,
        mj_pending=tracker.pending_in,
        caps=Caps(settings.rate_limit_per_minute, settings.mj_tasks_per_chat),
        metrics=metrics,
    )
    llm = Llm(
        gateway,
        anthropic_prefixes=settings.anthropic_model_prefixes,
        image_models=settings.image_chat_models,
        max_tokens=settings.chat_max_tokens,
    )
    images = Images(
        gateway,
        db,
        recorder,
        jobs,
        ImageModels(settings.image_model, settings.edit_model, settings.dalle2_fit),
    )
    midjourney = Midjourney(gateway, db, recorder, jobs, mode=settings.mj_mode, wake_tracker=tracker.wake)
    tools = Tools(
        admission,
        images,
        midjourney,
        db,
        max_prompt_chars=settings.max_prompt_chars,
        max_jobs=settings.max_tool_jobs,
        max_image_bytes=settings.max_image_bytes,
    )
    memory = Memory(
        db,
        gateway,
        recorder,
        MemorySettings(settings.history_token_budget, settings.embedding_model, settings.recall_turns),
    )
    turns = ChatTurns(
        llm=llm,
        memory=memory,
        tools=tools,
        recorder=recorder,
        budgets=budgets,
        estimator=estimator,
        downloader=downloader,
        db=db,
        writer=writer,
        jobs=jobs,
        limits=ChatLimits(settings.max_tool_rounds, settings.max_image_bytes),
        # ⏹ pressed at another replica reaches the one streaming the answer through the database.
        running=RunningAnswers(RemoteStops(db) if db.engine.dialect.name == "postgresql" else None),
    )
    deps = Deps(
        settings=settings,
        db=db,
        gateway=gateway,
        prices=prices,
        chats=Chats(db, writer, Defaults(settings.chat_model, settings.system_prompt)),
        access=access,
        permissions=permissions,
        admission=admission,
        budgets=budgets,
        turns=turns,
        classifier=Classifier(llm, recorder, settings.classifier_model),
        images=images,
        midjourney=midjourney,
        voice=Voice(
            gateway,
            recorder,
            VoiceSettings(
                transcribe_model=settings.transcribe_model,
                tts_model=settings.tts_model,
                tts_voice=settings.tts_voice,
                max_seconds=settings.voice_max_seconds,
                max_bytes=settings.voice_max_bytes,
                tts_max_chars=settings.tts_max_chars,
            ),
        ),
        metrics=metrics,
        languages=Languages(db, catalog),
    )
    return Services(deps, tracker, jobs)


@dataclass
class App:
    services: Services
    core: Core
    platforms: list[Platform]
    instance: Instance
    recovery: Recovery
    health: Health
    http_port: int | None  # where this replica serves health, metrics and webhooks

    async def serve(self) -> None:
        """Run the platforms and the background work until one platform stops or we are cancelled.

        Cancelled (SIGTERM), the replica reports not ready (the load balancer stops sending),
        every platform stops taking new work and lets running work finish up to
        SHUTDOWN_GRACE; what is still running then is left, recorded, for the next start
        (bot.lifecycle.recovery).
        """
        background = [
            asyncio.create_task(self.services.tracker.run(), name="mj-tracker"),
            asyncio.create_task(self.recovery.run(), name="recovery"),
            asyncio.create_task(self.instance.heartbeat(), name="heartbeat"),
        ]
        tasks = [asyncio.create_task(p.run(), name=p.messenger.platform) for p in self.platforms]
        try:
            # The first platform to stop (the console at end of input) ends the process.
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
        finally:
            self.health.start_draining()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            for platform in self.platforms:
                await platform.close()


def pool_of(settings: Settings) -> Pool:
    return Pool(settings.db_pool_size, settings.db_pool_overflow, settings.db_pool_wait)


async def open_redis(settings: Settings, stack: AsyncExitStack, health: Health) -> Redis | None:
    """The Redis client when REDIS_URL is set (closed with the app), else None."""
    if settings.redis_url is None:
        return None
    from redis.asyncio import from_url  # imported only when needed: it costs start-up time

    redis = from_url(settings.redis_url.get_secret_value())
    stack.push_async_callback(redis.aclose)
    health.add_check("redis", redis_check(redis))
    return redis


@asynccontextmanager
async def open_app(settings: Settings, *, console: bool | None = None) -> AsyncIterator[App]:
    """Everything a running bot owns; closed in reverse order on exit."""
    async with AsyncExitStack() as stack:
        if settings.gateway_http2 and importlib.util.find_spec("h2") is None:
            raise ConfigError("GATEWAY_HTTP2=true needs the h2 package: pip install -e '.[http2]'")
        # One TLS context (the certificate bundle read once: about 20 ms and 1 MB each) for the
        # clients that speak HTTP/1.1: downloads, Telegram and the gateway. Over HTTP/2 the
        # gateway gets its own, as httpcore offers h2 on the context it is given (ALPN).
        tls = httpx.create_ssl_context()
        http = gateway_client(
            max_connections=settings.gateway_max_connections,
            keepalive_connections=settings.gateway_keepalive_connections,
            http2=settings.gateway_http2,
            aiohttp=uses_aiohttp(settings.gateway_transport, settings.wenwen_base_url),
            verify=httpx.create_ssl_context() if settings.gateway_http2 else tls,
        )
        stack.push_async_callback(http.aclose)
        downloader = Downloader(
            DownloadPolicy.for_gateway(
                settings.wenwen_base_url,
                allowed_hosts=settings.download_allowed_hosts,
                max_redirects=settings.download_max_redirects,
                deadline=settings.download_deadline,
                max_bytes=settings.max_image_bytes,
            ),
            http,
            connect_timeout=settings.connect_timeout,
            tls=tls,
        )
        stack.push_async_callback(downloader.aclose)
        db = Database(settings.database_url, pool=pool_of(settings))
        stack.push_async_callback(db.dispose)
        await db.migrate()
        instance = Instance(db, liveness_for(db.engine))
        await instance.start()
        stack.push_async_callback(instance.stop)
        writer = Writer(db)
        stack.push_async_callback(writer.close)

        metrics = Metrics()
        if isinstance(db.engine.pool, QueuePool):
            metrics.set_pool_probe(db.engine.pool.checkedout)
        event.listen(db.engine.sync_engine, "commit", lambda _conn: metrics.db_commit())
        health = Health()
        health.add_check("database", database_check(db.engine))
        redis = await open_redis(settings, stack, health)
        shared = shared_state(settings, db, instance, redis)
        log.info("shared limits and locks live in %s", shared.where)

        services = build_services(
            settings, http, downloader, db, instance, writer=writer, shared=shared, metrics=metrics
        )
        core = Core(services.deps)
        if console is None:
            console = settings.telegram_bot_token is None and settings.discord_bot_token is None
        serves_http = settings.telegram_bot_token is not None or settings.discord_bot_token is not None
        web_app = build_web_app(health, metrics) if serves_http else None
        inbound = Inbound(db, writer, instance.id, metrics)
        await inbound.prune()
        wiring = Wiring(
            tracker=services.tracker,
            inbound=inbound,
            leadership=Leadership(db, instance),
            albums=SharedAlbums(db, instance.id, settings.album_wait),
            metrics=metrics,
            web_app=web_app,
            tls=tls,
        )
        platforms = build_platforms(settings, core, wiring, console=console)
        for platform in platforms:
            health.add_check(f"{platform.messenger.platform} connected", _connected(platform))
        messengers = {p.messenger.platform: p.messenger for p in platforms}
        for messenger in messengers.values():
            services.tracker.attach(messenger)
        replays = {p.messenger.platform: p.replay for p in platforms if isinstance(p, Journaled)}
        recovery = Recovery(
            db, instance, services.jobs, messengers, replays, languages=services.deps.languages
        )
        port: int | None = None
        if web_app is not None:
            server = HttpServer()
            port = await server.start(web_app, settings.http_host, settings.http_port)
            stack.push_async_callback(server.stop)
            log.info("health, metrics%s on port %d", " and webhooks" if settings.webhook_url else "", port)
        log.info("platforms: %s", ", ".join(messengers) or "none")
        yield App(services, core, platforms, instance, recovery, health, port)


def _connected(platform: Platform) -> Check:
    async def check() -> None:
        if not platform.connected:
            raise ConnectionError(f"{platform.messenger.platform} is not connected")

    return check


async def migrate(database_url: str) -> None:
    """`python -m bot --migrate`: the schema up to date, nothing else."""
    db = Database(database_url)
    try:
        await db.migrate()
    finally:
        await db.dispose()
    log.info("database schema is up to date")


async def run(settings: Settings, *, simulate: bool, on_built: Callable[[], None] = lambda: None) -> None:
    """Serve until a platform stops or SIGTERM/SIGINT asks us to; then shut down in order.

    `on_built` is called once everything is built, just before the platforms start.
    """
    _stop_on_signals()
    try:
        await _serve(settings, simulate=simulate, on_built=on_built)
    except asyncio.CancelledError:
        log.info("stopped on request")
        return
    log.info("stopped")


def _stop_on_signals() -> None:
    """`docker stop` sends SIGTERM: cancel the main task so in-flight work gets its grace period."""
    main = asyncio.current_task()
    if main is None:
        return
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):  # not on Windows event loops
            loop.add_signal_handler(sig, main.cancel)


async def _serve(settings: Settings, *, simulate: bool, on_built: Callable[[], None]) -> None:
    async with AsyncExitStack() as stack:
        if simulate:
            from simulator import Simulator

            simulator = Simulator(api_key=SIMULATOR_KEY, mj_step_seconds=1.0)
            base_url = await simulator.start()
            stack.push_async_callback(simulator.stop)
            settings = settings.model_copy(
                update={"wenwen_base_url": base_url, "wenwen_api_key": SecretStr(SIMULATOR_KEY)}
            )
            log.info("offline demo: using the built-in gateway simulator at %s", base_url)
        app = await stack.enter_async_context(open_app(settings))
        on_built()
        await app.serve()

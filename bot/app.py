"""The one place that wires everything: settings → HTTP client → database → core → platforms."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import httpx
from pydantic import SecretStr

from adapters import Platform, build_platforms
from bot.access import Access
from bot.budgets import Budgets
from bot.config import ConfigError, Settings
from bot.core import Core
from bot.gateway.client import GatewayClient, Timeouts
from bot.ledger import Ledger
from bot.limits import parse_limits
from bot.midjourney import MjTracker
from bot.pricing import load_prices
from bot.services import Services
from storage import Database

log = logging.getLogger(__name__)

SIMULATOR_KEY = "sim-key"


def wants_demo(settings: Settings) -> bool:
    """No key and no platform token: the offline demo is the useful thing to do."""
    return (
        settings.wenwen_api_key is None
        and settings.telegram_bot_token is None
        and settings.discord_bot_token is None
    )


def build_services(settings: Settings, http: httpx.AsyncClient, db: Database) -> Services:
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
        ),
        mj_busy_attempts=settings.mj_busy_attempts,
        mj_busy_wait=settings.mj_busy_wait,
        max_download_bytes=settings.max_image_bytes,
    )
    prices = load_prices(settings.prices_file)
    return Services(
        settings,
        gateway,
        db,
        Ledger(prices),
        MjTracker(gateway, db, settings),
        prices=prices,
        budgets=Budgets(db, prices, parse_limits(settings.budgets), ttl=settings.budget_reservation_ttl),
        access=Access(settings, db),
    )


@dataclass
class App:
    services: Services
    core: Core
    platforms: list[Platform]

    async def serve(self) -> None:
        """Run the platforms and the Midjourney tracker until one platform stops or we are cancelled."""
        tracker = asyncio.create_task(self.services.mj.run(), name="mj-tracker")
        tasks = [asyncio.create_task(p.run(), name=p.messenger.platform) for p in self.platforms]
        try:
            # The first platform to stop (the console at end of input) ends the process.
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
        finally:
            for task in [*tasks, tracker]:
                task.cancel()
            await asyncio.gather(*tasks, tracker, return_exceptions=True)


@asynccontextmanager
async def open_app(settings: Settings, *, console: bool | None = None) -> AsyncIterator[App]:
    """Everything a running bot owns; closed in reverse order on exit."""
    async with AsyncExitStack() as stack:
        http = httpx.AsyncClient(limits=httpx.Limits(max_connections=50))
        stack.push_async_callback(http.aclose)
        db = Database(settings.database_url)
        stack.push_async_callback(db.dispose)
        await db.migrate()

        services = build_services(settings, http, db)
        core = Core(services)
        if console is None:
            console = settings.telegram_bot_token is None and settings.discord_bot_token is None
        platforms = build_platforms(settings, core, console=console)
        for platform in platforms:
            services.mj.attach(platform.messenger)
        log.info("platforms: %s", ", ".join(p.messenger.platform for p in platforms) or "none")
        yield App(services, core, platforms)


async def run(settings: Settings, *, simulate: bool) -> None:
    """Serve until a platform stops or SIGTERM/SIGINT asks us to; then shut down in order."""
    _stop_on_signals()
    try:
        await _serve(settings, simulate=simulate)
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


async def _serve(settings: Settings, *, simulate: bool) -> None:
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
        await app.serve()

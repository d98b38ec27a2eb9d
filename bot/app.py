"""The one place that wires everything: settings → HTTP client → database → core → platforms."""

from __future__ import annotations

import asyncio
import logging
from contextlib import AsyncExitStack

import httpx
from pydantic import SecretStr

from adapters import build_platforms
from bot.config import ConfigError, Settings
from bot.core import Core
from bot.gateway.client import GatewayClient, Timeouts
from bot.ledger import Ledger
from bot.midjourney import MjTracker
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
        max_download_bytes=settings.max_image_bytes,
    )
    return Services(settings, gateway, db, Ledger(), MjTracker(gateway, db, settings))


async def run(settings: Settings, *, simulate: bool) -> None:
    async with AsyncExitStack() as stack:
        if simulate:
            from bot.simulator import Simulator

            simulator = Simulator(api_key=SIMULATOR_KEY, mj_step_seconds=2.0)
            base_url = await simulator.start()
            stack.push_async_callback(simulator.stop)
            settings = settings.model_copy(
                update={"wenwen_base_url": base_url, "wenwen_api_key": SecretStr(SIMULATOR_KEY)}
            )
            log.info("offline demo: using the built-in gateway simulator at %s", base_url)

        http = httpx.AsyncClient(limits=httpx.Limits(max_connections=50))
        stack.push_async_callback(http.aclose)
        db = Database(settings.database_url)
        stack.push_async_callback(db.dispose)
        await db.migrate()

        services = build_services(settings, http, db)
        core = Core(services)
        no_platform = settings.telegram_bot_token is None and settings.discord_bot_token is None
        platforms = build_platforms(settings, core, console=no_platform)
        for platform in platforms:
            services.mj.attach(platform.messenger)
        log.info("starting: %s", ", ".join(p.messenger.platform for p in platforms))

        tracker = asyncio.create_task(services.mj.run(), name="mj-tracker")
        try:
            # The first platform to stop (the console at end of input) ends the process.
            tasks = [asyncio.create_task(p.run(), name=p.messenger.platform) for p in platforms]
            done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            for task in done:
                task.result()
        finally:
            tracker.cancel()
            await asyncio.gather(tracker, return_exceptions=True)

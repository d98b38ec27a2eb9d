"""Platform adapters. Each one is imported only when its platform is configured."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import ssl

    from aiohttp import web

    from bot.config import Settings
    from bot.coordination.leadership import Leadership
    from bot.core import Core
    from bot.lifecycle.albums import SharedAlbums
    from bot.lifecycle.inbound import Inbound
    from bot.midjourney.tracker import MjTracker
    from bot.model import Messenger
    from bot.observability.metrics import Metrics
    from storage import InboundUpdate


class Platform(Protocol):
    @property
    def messenger(self) -> Messenger: ...

    @property
    def connected(self) -> bool:
        """Taking updates now (for readiness)."""
        ...

    async def run(self) -> None:
        """Serve until cancelled; then stop taking new work, drain with grace, clean up."""

    async def close(self) -> None:
        """Release what is still open once everything else has stopped (the app calls it last).

        Background work (Midjourney deliveries, recovery) may still send a message after
        `run` ended; a client that reopens its connections for that must not leak them.
        """


@runtime_checkable
class Journaled(Protocol):
    """A platform whose updates are journaled: it can handle one a gone instance left behind."""

    async def replay(self, update: InboundUpdate) -> None: ...


@dataclass(frozen=True)
class Wiring:
    """What the platforms get from the app besides settings and the core."""

    tracker: MjTracker
    inbound: Inbound
    leadership: Leadership
    albums: SharedAlbums
    metrics: Metrics
    web_app: web.Application | None  # the replica's HTTP server (webhooks), when there is one
    tls: ssl.SSLContext  # the TLS context every HTTP/1.1 client shares (certificates read once)


def build_platforms(settings: Settings, core: Core, wiring: Wiring, *, console: bool) -> list[Platform]:
    platforms: list[Platform] = []
    if settings.telegram_bot_token is not None:
        from adapters.telegram.platform import TelegramPlatform

        platforms.append(
            TelegramPlatform(
                settings,
                core,
                wiring.inbound,
                leadership=wiring.leadership,
                albums=wiring.albums,
                metrics=wiring.metrics,
                web_app=wiring.web_app,
                tls=wiring.tls,
            )
        )
    if settings.discord_bot_token is not None:
        from adapters.discord.platform import DiscordPlatform

        platforms.append(
            DiscordPlatform(
                settings, core, wiring.inbound, leadership=wiring.leadership, metrics=wiring.metrics
            )
        )
    if console:
        from adapters.console.platform import ConsolePlatform
        from bot.i18n.locale import terminal_language

        platforms.append(
            ConsolePlatform(settings, core, wiring.tracker, core.deps.languages, language=terminal_language())
        )
    return platforms

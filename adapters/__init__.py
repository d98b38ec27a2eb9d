"""Platform adapters. Each one is imported only when its platform is configured."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.core import Core
    from bot.lifecycle.inbound import Inbound
    from bot.midjourney.tracker import MjTracker
    from bot.model import Messenger
    from storage import InboundUpdate


class Platform(Protocol):
    @property
    def messenger(self) -> Messenger: ...

    async def run(self) -> None:
        """Serve until cancelled; then stop taking new work, drain with grace, clean up."""


@runtime_checkable
class Journaled(Protocol):
    """A platform whose updates are journaled: it can handle one a gone instance left behind."""

    async def replay(self, update: InboundUpdate) -> None: ...


def build_platforms(
    settings: Settings, core: Core, tracker: MjTracker, inbound: Inbound, *, console: bool
) -> list[Platform]:
    platforms: list[Platform] = []
    if settings.telegram_bot_token is not None:
        from adapters.telegram.platform import TelegramPlatform

        platforms.append(TelegramPlatform(settings, core, inbound))
    if settings.discord_bot_token is not None:
        from adapters.discord.platform import DiscordPlatform

        platforms.append(DiscordPlatform(settings, core, inbound))
    if console:
        from adapters.console.platform import ConsolePlatform

        platforms.append(ConsolePlatform(settings, core, tracker))
    return platforms

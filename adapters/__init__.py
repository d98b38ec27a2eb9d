"""Platform adapters. Each one is imported only when its platform is configured."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.core import Core
    from bot.midjourney.tracker import MjTracker
    from bot.model import Messenger


class Platform(Protocol):
    @property
    def messenger(self) -> Messenger: ...

    async def run(self) -> None:
        """Serve until cancelled; clean up on the way out."""


def build_platforms(settings: Settings, core: Core, tracker: MjTracker, *, console: bool) -> list[Platform]:
    platforms: list[Platform] = []
    if settings.telegram_bot_token is not None:
        from adapters.telegram.platform import TelegramPlatform

        platforms.append(TelegramPlatform(settings, core))
    if settings.discord_bot_token is not None:
        from adapters.discord.platform import DiscordPlatform

        platforms.append(DiscordPlatform(settings, core))
    if console:
        from adapters.console.platform import ConsolePlatform

        platforms.append(ConsolePlatform(settings, core, tracker))
    return platforms

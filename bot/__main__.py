"""`python -m bot [--simulate]`: start every configured platform (console when none is)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sys

# Starting up creates ~330 000 objects that live as long as the process (most of them
# aiogram's models). The cyclic collector would scan them again and again while they are
# made (~0.4 s of start-up) and in every full collection after (~0.1 s each): it stays off
# until the app is built, and then they are frozen out of its sight (`gc.freeze`).
gc.disable()

from sqlalchemy import make_url  # noqa: E402 - after the collector is off

from bot.app import migrate, run, wants_demo  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.errors import ConfigError  # noqa: E402
from bot.i18n import Catalog, Tr, t  # noqa: E402
from bot.i18n.locale import terminal_language  # noqa: E402
from bot.logs import configure_logging  # noqa: E402


def _collect_from_now_on() -> None:
    gc.freeze()
    gc.enable()


def _console_banner(simulate: bool, gateway: str, log_file: str) -> str:
    """The terminal chat's first line, in the terminal's language (before the app is built)."""
    tr = Tr.of_app(Catalog.load(), terminal_language())
    if simulate:
        line = t(
            "wenwen-bot: terminal chat with the offline gateway simulator; logs in {path}", path=log_file
        )
    else:
        line = t(
            "wenwen-bot: terminal chat with the gateway at {url}; logs in {path}", url=gateway, path=log_file
        )
    return tr(line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    parser.add_argument(
        "--simulate",
        action="store_true",
        help="run against the built-in gateway simulator (no API key needed)",
    )
    parser.add_argument(
        "--migrate",
        action="store_true",
        help="bring the database schema up to date, then exit (a deployment's one-shot step)",
    )
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"wenwen-bot: {exc}", file=sys.stderr)
        return 2
    secrets = [
        s.get_secret_value()
        for s in (
            settings.wenwen_api_key,
            settings.telegram_bot_token,
            settings.discord_bot_token,
            settings.webhook_secret,
        )
        if s is not None
    ]
    # Passwords inside connection URLs (a failed connection may log its URL).
    for url in (settings.database_url, settings.redis_url.get_secret_value() if settings.redis_url else None):
        password = make_url(url).password if url and "://" in url else None
        if password:
            secrets.append(str(password))
    console = settings.telegram_bot_token is None and settings.discord_bot_token is None
    log_file = settings.data_dir / "wenwen.log" if console else None
    configure_logging(settings.log_level, secrets, log_file=None if args.migrate else log_file)
    if args.migrate:
        gc.enable()
        asyncio.run(migrate(settings.database_url))
        return 0
    simulate = args.simulate or wants_demo(settings)
    if simulate and not args.simulate:
        logging.getLogger("bot").info("no WENWEN_API_KEY and no bot token: starting the offline demo")
    if console:
        print(_console_banner(simulate, settings.wenwen_base_url, str(log_file)), file=sys.stderr)
    try:
        asyncio.run(run(settings, simulate=simulate, on_built=_collect_from_now_on))
    except ConfigError as exc:
        logging.getLogger("bot").error("%s", exc)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Logging set-up with a filter that blanks every configured secret."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path


class RedactSecrets(logging.Filter):
    """Rewrites records so API keys and bot tokens never reach a log sink."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if len(s) >= 6]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            # A malformed logging call must not raise into the caller (logging itself never does);
            # keep the bare message and drop the arguments, which may hold a secret.
            message = str(record.msg)
            record.args = None
        redacted = message
        for secret in self._secrets:
            redacted = redacted.replace(secret, "***")
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            for secret in self._secrets:
                record.exc_text = record.exc_text.replace(secret, "***")
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def configure_logging(level: str, secrets: Iterable[str], *, log_file: Path | None = None) -> None:
    """Log to stderr; with `log_file` (the terminal console), keep stderr for warnings only.

    In the console the terminal is the chat, so the bot's INFO lines go to the file instead.
    """
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    redact = RedactSecrets(secrets)
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers[0].setLevel(logging.WARNING)
        handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(redact)
    root = logging.getLogger()
    root.handlers[:] = handlers
    root.setLevel(level.upper())
    # Library chatter at INFO (every poll, every simulator request) drowns the bot's own lines.
    for noisy in ("httpx", "aiogram.event", "discord.gateway", "aiosqlite", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

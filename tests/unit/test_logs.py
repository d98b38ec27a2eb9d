"""RedactSecrets: no key or token reaches a log sink, whatever the record carries."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from bot.logs import RedactSecrets, configure_logging

KEY = "sk-live-9f8e7d6c5b4a"
TOKEN = "123456:AAE-telegram-token"


@pytest.fixture
def sink() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(RedactSecrets([KEY, TOKEN, "", "abc"]))
    logger = logging.getLogger("tests.unit.test_logs")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)
    logger.propagate = True


def test_secret_in_the_message(sink: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = sink
    logger.info(f"calling with Bearer {KEY} and bot{TOKEN}/getMe")
    out = stream.getvalue()
    assert KEY not in out
    assert TOKEN not in out
    assert "Bearer ***" in out
    assert "bot***/getMe" in out


def test_secret_in_the_args(sink: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = sink
    logger.warning("url %s failed with %r", f"https://api.telegram.org/bot{TOKEN}/send", {"key": KEY})
    out = stream.getvalue()
    assert KEY not in out
    assert TOKEN not in out
    assert "https://api.telegram.org/bot***/send" in out


def test_secret_in_exception_text(sink: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = sink
    try:
        raise RuntimeError(f"request failed: Authorization: Bearer {KEY}")
    except RuntimeError:
        logger.exception("gateway call failed")
    out = stream.getvalue()
    assert "gateway call failed" in out
    assert "RuntimeError" in out
    assert KEY not in out
    assert "Bearer ***" in out


def test_secret_in_a_chained_exception(sink: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = sink
    try:
        try:
            raise ValueError(TOKEN)
        except ValueError as inner:
            raise RuntimeError("outer") from inner
    except RuntimeError:
        logger.error("boom %s", KEY, exc_info=True)
    out = stream.getvalue()
    assert KEY not in out
    assert TOKEN not in out


def test_clean_records_are_untouched(sink: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = sink
    logger.info("answered %d tokens for %s", 42, "tg:1")
    assert stream.getvalue() == "INFO answered 42 tokens for tg:1\n"


def test_short_and_empty_secrets_are_ignored() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "a b c abc", None, None)
    assert RedactSecrets(["", "abc"]).filter(record)
    assert record.getMessage() == "a b c abc"


def test_filter_always_lets_the_record_through() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "key %s", (KEY,), None)
    assert RedactSecrets([KEY]).filter(record) is True
    assert record.getMessage() == "key ***"
    assert RedactSecrets([]).filter(record) is True


def test_configure_logging_installs_the_filter(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    try:
        configure_logging("info", [KEY])
        assert root.level == logging.INFO
        assert logging.getLogger("httpx").level == logging.WARNING
        logging.getLogger("bot.test").info("key=%s", KEY)
        err = capsys.readouterr().err
        assert "key=***" in err
        assert KEY not in err
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        logging.getLogger("httpx").setLevel(logging.NOTSET)
        for noisy in ("aiogram.event", "discord.gateway", "aiosqlite"):
            logging.getLogger(noisy).setLevel(logging.NOTSET)


def test_a_malformed_logging_call_does_not_raise(sink: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = sink
    logger.info("two placeholders %s %s but one argument", KEY)  # noqa: PLE1206
    logger.info("key %d", KEY)
    assert KEY not in stream.getvalue()

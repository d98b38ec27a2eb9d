"""`python -m bot --simulate` as an operator runs it, against a Bot API server at TELEGRAM_API_URL."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from tests.e2e.telegram.conftest import TOKEN
from tests.fakes.telegram_api import JSON, FakeTelegram

REPO = Path(__file__).resolve().parents[3]


async def test_the_real_entry_point_serves_telegram(
    tg: FakeTelegram, ann: JSON, private: JSON, tmp_path: Path, database_url: str
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("WENWEN_API_KEY", "DISCORD_BOT_TOKEN")}
    env.update(
        PYTHONPATH=str(REPO),
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=tg.base_url,
        DATABASE_URL=database_url,
        DATA_DIR=str(tmp_path),
        CAPTION_MODE="edit",
        HTTP_PORT="0",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "--simulate",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await tg.wait_for("setMyCommands", timeout=30)
        tg.send_text(private, ann, "hello from a real process")
        answer = await tg.wait_for("sendMessage", lambda c: "hello from a real process" in c.params["text"])
        tg.send_text(private, ann, "/image a paper boat")
        await tg.wait_for("sendPhoto", timeout=20)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert answer.ok
    assert process.returncode == 0, stderr.decode()
    assert TOKEN not in stderr.decode(), "the bot token never reaches the logs"
    assert "stopped on request" in stderr.decode()

"""The environment of a real `python -m bot` process run against the fakes and the simulator.

Shared by the end-to-end tests that kill or multiply the process and by `bench/`: the
parent's environment without any real platform or gateway credentials, pointed at fakes.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SIM_KEY = "sim-key"

# Quick polling and no caps: a test sees every step at once and sets the caps it is about.
QUICK = {
    "MJ_POLL_INTERVAL": "0.2",
    "PROGRESS_EDIT_INTERVAL": "0",
    "RATE_LIMIT_PER_MINUTE": "0",
    "IMAGE_JOBS_PER_CHAT": "0",
    "MJ_TASKS_PER_CHAT": "0",
    "EMBEDDING_MODEL": "",
    "CAPTION_MODE": "edit",
    "STREAM_DRAFT_INTERVAL": "0.05",
}


def bot_env(
    *, token: str, telegram_url: str, gateway_url: str, database_url: str, data_dir: Path, **settings: str
) -> dict[str, str]:
    """Settings for a bot on the fake Telegram at `telegram_url` and the simulator at `gateway_url`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DISCORD_", "WENWEN_"))}
    env.update(
        PYTHONPATH=str(REPO),
        TELEGRAM_BOT_TOKEN=token,
        TELEGRAM_API_URL=telegram_url,
        WENWEN_API_KEY=SIM_KEY,
        WENWEN_BASE_URL=gateway_url,
        DATABASE_URL=database_url,
        DATA_DIR=str(data_dir),
    )
    env.update(settings)
    return env

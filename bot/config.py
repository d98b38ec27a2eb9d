"""Settings: read once from the environment and `.env`, then passed down."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class MjMode(StrEnum):
    RELAX = "RELAX"
    FAST = "FAST"


class CaptionMode(StrEnum):
    AUTO = "auto"
    EDIT = "edit"
    ASK = "ask"


DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/wenwen.db"


class Settings(BaseSettings):
    """Every knob of the bot; environment names are part of the public interface."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    wenwen_api_key: SecretStr | None = None
    wenwen_base_url: str = "https://api.wenwen-ai.com"

    telegram_bot_token: SecretStr | None = None
    telegram_api_url: str | None = None

    discord_bot_token: SecretStr | None = None
    discord_guild_ids: Annotated[tuple[int, ...], NoDecode] = ()
    # Seam for tests and self-hosted proxies; discord.py's default when unset.
    discord_api_url: str | None = None

    database_url: str = DEFAULT_DATABASE_URL
    data_dir: Path = Path("./data")

    chat_model: str = "gpt-4o-mini"
    image_model: str = "gpt-image-1"
    edit_model: str = "gpt-image-1"
    mj_mode: MjMode = MjMode.RELAX
    caption_mode: CaptionMode = CaptionMode.EDIT

    system_prompt: str = "You are a helpful assistant in a chat. Answer concisely."
    # Conversation memory: how many tokens of past turns are sent with each request.
    history_token_budget: int = Field(default=3000, ge=0)
    max_prompt_chars: int = Field(default=8000, ge=100)
    max_image_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    max_album_images: int = Field(default=10, ge=1, le=16)

    # Midjourney polling.
    mj_poll_interval: float = Field(default=5.0, gt=0)
    mj_task_deadline: float = Field(default=20 * 60.0, gt=0)
    # Telegram allows roughly one edit per second per chat; groups get less.
    progress_edit_interval: float = Field(default=3.0, ge=0)

    # Gateway timeouts (seconds).
    connect_timeout: float = Field(default=10.0, gt=0)
    chat_timeout: float = Field(default=120.0, gt=0)
    image_timeout: float = Field(default=300.0, gt=0)
    mj_timeout: float = Field(default=60.0, gt=0)

    # Seconds requests in flight may take to finish when the bot is stopped.
    shutdown_grace: float = Field(default=10.0, ge=0)
    album_wait: float = Field(default=1.0, ge=0)
    log_level: str = "INFO"

    @field_validator("discord_guild_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(int(part) for part in value.replace(";", ",").split(",") if part.strip())
        if isinstance(value, int):
            return (value,)
        return value

    @field_validator("wenwen_base_url", "telegram_api_url", "discord_api_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")


class ConfigError(Exception):
    """A setting is missing or wrong; the message names it in one line."""


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        raise ConfigError(f"Invalid setting {name}: {first['msg']}") from None

"""Settings: read once from the environment and `.env`, then passed down."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.errors import ConfigError
from bot.usage.limits import parse_limits


class MjMode(StrEnum):
    RELAX = "RELAX"
    FAST = "FAST"


class CaptionMode(StrEnum):
    AUTO = "auto"
    EDIT = "edit"
    ASK = "ask"


class TelegramMode(StrEnum):
    POLLING = "polling"
    WEBHOOK = "webhook"


class GroupSettings(StrEnum):
    """Who may change a group's /model and /system."""

    ADMINS = "admins"
    EVERYONE = "everyone"


DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/wenwen.db"


class Settings(BaseSettings):
    """Every knob of the bot; environment names are part of the public interface."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    wenwen_api_key: SecretStr | None = None
    wenwen_base_url: str = "https://api.wenwen-ai.com"

    telegram_bot_token: SecretStr | None = None
    telegram_api_url: str | None = None
    # polling: one replica polls (elected), the others stand by; webhook: every replica serves.
    telegram_mode: TelegramMode = TelegramMode.POLLING
    # The public URL Telegram posts updates to (its path is the route served), and the secret
    # Telegram sends with each of them (checked on every request).
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None

    discord_bot_token: SecretStr | None = None
    discord_guild_ids: Annotated[tuple[int, ...], NoDecode] = ()
    # Sharding across replicas: the total, and the shards this replica runs (empty: all).
    discord_shard_count: int | None = Field(default=None, ge=1, le=1024)
    discord_shard_ids: Annotated[tuple[int, ...], NoDecode] = ()
    # Seam for tests and self-hosted proxies; discord.py's default when unset.
    discord_api_url: str | None = None

    database_url: str = DEFAULT_DATABASE_URL
    # Connections per replica: a burst queues for one rather than failing (the pool wait is
    # long on purpose). On PostgreSQL, replicas × (size + overflow) must stay under the
    # server's max_connections. Most writes go through one batching writer, and one event
    # loop keeps few statements in flight, so few are needed: more only cost memory (on
    # SQLite each connection is a thread), with no gain in the load benchmarks.
    db_pool_size: int = Field(default=5, ge=1)
    db_pool_overflow: int = Field(default=5, ge=0)
    db_pool_wait: float = Field(default=120.0, gt=0)
    data_dir: Path = Path("./data")
    # Shared limits and locks across replicas (rate limits, job slots, the Midjourney cap).
    redis_url: SecretStr | None = None
    # Every key starts with this, so several bots (or test runs) can share one Redis.
    redis_prefix: str = Field(default="wenwen", min_length=1, pattern=r"^[A-Za-z0-9_.:-]+$")
    # Health, metrics and the Telegram webhook: one HTTP server per replica (port 0: any free port).
    http_host: str = "0.0.0.0"  # noqa: S104 - a container's service port; the proxy is in front
    http_port: int = Field(default=8080, ge=0, le=65535)

    chat_model: str = "gpt-4o-mini"
    image_model: str = "gpt-image-1"
    edit_model: str = "gpt-image-1"
    mj_mode: MjMode = MjMode.RELAX
    caption_mode: CaptionMode = CaptionMode.AUTO
    # Cheap model that decides whether a captioned photo is an edit or a question.
    classifier_model: str = "gpt-4o-mini"
    # Chat models whose names start with one of these go through /v1/messages.
    anthropic_model_prefixes: Annotated[tuple[str, ...], NoDecode] = ("claude",)
    # Chat models that answer with images inside their text (glob patterns).
    image_chat_models: Annotated[tuple[str, ...], NoDecode] = ("gpt-4o-image*", "gemini-*image*")
    # Which GET /v1/models entries /model offers (glob patterns).
    allowed_chat_models: Annotated[tuple[str, ...], NoDecode] = (
        "gpt-4*",
        "gpt-5*",
        "o3*",
        "o4*",
        "claude-*",
        "gemini-*",
        "deepseek-*",
        "qwen*",
    )
    # Long memory: turns beyond the history budget are embedded and recalled ("" turns it off).
    embedding_model: str = "text-embedding-3-small"
    recall_turns: int = Field(default=3, ge=0, le=20)
    # Tool calling in conversation; 0 turns the tools off.
    max_tool_rounds: int = Field(default=3, ge=0, le=10)
    # Pictures and Midjourney tasks the chat model's tools may start from one message.
    max_tool_jobs: int = Field(default=2, ge=0, le=20)
    # Output cap of every chat call; budgets reserve exactly this much answer.
    chat_max_tokens: int = Field(default=2048, ge=16, le=128_000)
    # dall-e-2 edits need a square: crop the middle, or pad with transparency.
    dalle2_fit: Literal["crop", "pad"] = "crop"
    # Streaming: drafts (private) and edits (groups) at most this often, in seconds.
    stream_draft_interval: float = Field(default=0.3, ge=0)
    # An answer whole within this long after its first token is sent at once, without a draft.
    stream_draft_first_delay: float = Field(default=0.05, ge=0)
    stream_edit_interval: float = Field(default=2.0, ge=0)
    # Groups: a short answer arrives as one message; edits start only after this wait.
    stream_group_first_delay: float = Field(default=1.0, ge=0)
    # Discord shares a handful of edits per few seconds per channel among all answers.
    discord_stream_interval: float = Field(default=1.5, ge=0)

    # Voice: speech to text for voice notes and audio files, text to speech for /voice on.
    transcribe_model: str = "whisper-1"
    tts_model: str = "tts-1"
    tts_voice: str = Field(default="alloy", min_length=1, max_length=40)
    # Longer or larger audio is refused before any paid call (the gateway takes 25 MB at most).
    voice_max_seconds: int = Field(default=300, ge=1, le=3600)
    voice_max_bytes: int = Field(default=25 * 1024 * 1024, ge=1024, le=25 * 1024 * 1024)
    # Answers longer than this many characters are not read aloud (TTS takes 4096 at most).
    tts_max_chars: int = Field(default=4000, ge=1, le=4096)
    # Documents (text files, source code, PDF text) sent with a question.
    document_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    document_max_tokens: int = Field(default=8000, ge=100)

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
    # Connections to the gateway: a slow gateway keeps one busy per waiting user, so the pool
    # is sized for a crowd. A request waits at most GATEWAY_POOL_WAIT for a free one (that
    # wait is ours, not the gateway's: it is never reported as the gateway being slow).
    gateway_max_connections: int = Field(default=1000, ge=1)
    gateway_keepalive_connections: int = Field(default=100, ge=0)
    gateway_pool_wait: float = Field(default=60.0, gt=0)
    gateway_http2: bool = False
    # Whose HTTP/1.1 pool (bench/http2.py): aiohttp's costs 40 % less CPU per request, but over
    # TLS asyncio gives each of its connections a 256 KiB buffer (1 000 connections: +325 MB
    # against +80 MB). "auto": aiohttp for an http:// gateway (a sidecar, a local network),
    # httpx's own for https://.
    gateway_transport: Literal["auto", "aiohttp", "httpx"] = "auto"
    # Midjourney "queue full" answers (codes 23/30) are retried with exponential backoff.
    mj_busy_attempts: int = Field(default=3, ge=1)
    mj_busy_wait: float = Field(default=5.0, ge=0)

    # Seconds requests in flight may take to finish when the bot is stopped (SIGTERM); what is
    # still running then is answered by the next start. docker-compose's stop_grace_period
    # must be a little longer.
    shutdown_grace: float = Field(default=90.0, ge=0)
    album_wait: float = Field(default=1.0, ge=0)
    log_level: str = "INFO"

    # Costs, budgets and access (README "Costs, budgets and access").
    # The operator's price table, merged over the shipped bot/usage/prices.toml.
    prices_file: Path | None = None
    # User ids ("tg:123" or a bare "123" for any platform) and chat keys ("tg:-100123").
    admin_user_ids: Annotated[tuple[str, ...], NoDecode] = ()
    allowed_chat_ids: Annotated[tuple[str, ...], NoDecode] = ()  # empty: every chat
    allowed_user_ids: Annotated[tuple[str, ...], NoDecode] = ()  # empty: every user
    # Default limits for every chat, e.g. "chat.day.cost=5, user.month.images=40".
    budgets: str = ""
    # A reservation left behind by a crash stops counting after this many seconds.
    budget_reservation_ttl: float = Field(default=900.0, gt=0)
    # Requests per user per minute (0: no limit); image jobs running at once per chat.
    rate_limit_per_minute: int = Field(default=20, ge=0)
    image_jobs_per_chat: int = Field(default=2, ge=0)
    mj_tasks_per_chat: int = Field(default=4, ge=0)
    # Who may change a group's /model and /system (admins; everyone for small private groups).
    group_settings: GroupSettings = GroupSettings.ADMINS

    # Downloads of image links (answers, Midjourney, dall-e): README "Security".
    # Hosts trusted even though they resolve to internal addresses (exact names).
    download_allowed_hosts: Annotated[tuple[str, ...], NoDecode] = ()
    download_deadline: float = Field(default=60.0, gt=0, le=600)
    download_max_redirects: int = Field(default=3, ge=0, le=10)

    @field_validator("discord_guild_ids", "discord_shard_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(int(part) for part in value.replace(";", ",").split(",") if part.strip())
        if isinstance(value, int):
            return (value,)
        return value

    @field_validator(
        "anthropic_model_prefixes",
        "image_chat_models",
        "allowed_chat_models",
        "download_allowed_hosts",
        mode="before",
    )
    @classmethod
    def _split_names(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.replace(";", ",").split(",") if part.strip())
        return value

    @field_validator("admin_user_ids", "allowed_chat_ids", "allowed_user_ids", mode="before")
    @classmethod
    def _split_access_ids(cls, value: object) -> object:
        if isinstance(value, int):
            return (str(value),)
        if isinstance(value, str):
            return tuple(part.strip() for part in value.replace(";", ",").split(",") if part.strip())
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _check_secret(cls, value: SecretStr | None) -> SecretStr | None:
        # What Telegram accepts as secret_token.
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()):
            raise ValueError("use 1 to 256 characters: letters, digits, _ and -")
        return value

    @model_validator(mode="after")
    def _check_combinations(self) -> Settings:
        if self.telegram_mode is TelegramMode.WEBHOOK and (
            self.webhook_url is None or self.webhook_secret is None
        ):
            raise ValueError("TELEGRAM_MODE=webhook needs WEBHOOK_URL and WEBHOOK_SECRET")
        if self.discord_shard_ids and self.discord_shard_count is None:
            raise ValueError("DISCORD_SHARD_IDS needs DISCORD_SHARD_COUNT")
        if self.discord_shard_count is not None and any(
            not 0 <= i < self.discord_shard_count for i in self.discord_shard_ids
        ):
            raise ValueError("every DISCORD_SHARD_IDS entry must be below DISCORD_SHARD_COUNT")
        return self

    @field_validator("budgets")
    @classmethod
    def _check_budgets(cls, value: str) -> str:
        parse_limits(value)  # a LimitSyntaxError (ValueError) names the bad part
        return value

    @field_validator("wenwen_base_url", "telegram_api_url", "discord_api_url", "webhook_url")
    @classmethod
    def _strip_slash(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or not value.strip():
            if info.field_name == "wenwen_base_url":
                # `WENWEN_BASE_URL=` must not leave the gateway client without a base URL.
                raise ValueError("must not be empty (remove the line to use the default)")
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        value = value.rstrip("/")
        if info.field_name == "wenwen_base_url" and value.endswith("/v1"):
            # Newer wenwen pages show the base with /v1; our paths already carry it.
            value = value.removesuffix("/v1")
        return value

    @field_validator("mj_mode", "caption_mode", "group_settings", "telegram_mode", mode="before")
    @classmethod
    def _any_case(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        return value.upper() if value.upper() in MjMode.__members__ else value.lower()


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        if not first["loc"]:  # a rule across settings
            raise ConfigError(f"Invalid settings: {first['msg'].removeprefix('Value error, ')}") from None
        raise ConfigError(f"Invalid setting {str(first['loc'][0]).upper()}: {first['msg']}") from None

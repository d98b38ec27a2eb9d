"""Settings: defaults, environment names, and one-line errors naming the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import DEFAULT_DATABASE_URL, CaptionMode, MjMode, Settings, load_settings
from bot.errors import ConfigError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No setting leaks in from the developer's shell or a `.env` in the working directory."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
        monkeypatch.delenv(name, raising=False)
    (tmp_path / ".env").write_text("CHAT_MODEL=from-dotenv\n")
    monkeypatch.chdir(tmp_path)


def test_defaults() -> None:
    settings = load_settings(_env_file=None)
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.database_url.startswith("sqlite+aiosqlite:///./data/")
    assert settings.data_dir == Path("./data")
    assert settings.chat_model == "gpt-4o-mini"
    assert settings.image_model == "gpt-image-1"
    assert settings.edit_model == "gpt-image-1"
    assert settings.mj_mode is MjMode.RELAX
    assert settings.wenwen_base_url == "https://api.wenwen-ai.com"
    assert settings.wenwen_api_key is None
    assert settings.telegram_bot_token is None
    assert settings.discord_bot_token is None
    assert settings.discord_guild_ids == ()
    assert settings.max_prompt_chars == 8000
    assert settings.max_album_images == 10


def test_env_file_is_read_unless_disabled() -> None:
    assert load_settings().chat_model == "from-dotenv"
    assert load_settings(_env_file=None).chat_model == "gpt-4o-mini"


def test_environment_names(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {
        "WENWEN_API_KEY": "sk-env-key-123456",
        "WENWEN_BASE_URL": "http://127.0.0.1:8080/",
        "TELEGRAM_BOT_TOKEN": "123:tg-token",
        "TELEGRAM_API_URL": "http://127.0.0.1:8081",
        "DISCORD_BOT_TOKEN": "dc-token-abcdef",
        "DISCORD_API_URL": "http://127.0.0.1:9000/api/",
        "DATABASE_URL": "sqlite+aiosqlite:////tmp/x.db",
        "DATA_DIR": "/tmp/wenwen",
        "CHAT_MODEL": "claude-3-5-sonnet-20241022",
        "IMAGE_MODEL": "dall-e-3",
        "EDIT_MODEL": "dall-e-2",
        "MJ_MODE": "FAST",
        "CAPTION_MODE": "ask",
        "MAX_PROMPT_CHARS": "1234",
        "MAX_ALBUM_IMAGES": "5",
        "MJ_POLL_INTERVAL": "2.5",
        "CHAT_TIMEOUT": "90",
        "LOG_LEVEL": "debug",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(_env_file=None)
    assert settings.wenwen_api_key is not None
    assert settings.wenwen_api_key.get_secret_value() == "sk-env-key-123456"
    assert "sk-env-key-123456" not in repr(settings)
    assert settings.wenwen_base_url == "http://127.0.0.1:8080"
    assert settings.telegram_bot_token is not None
    assert settings.telegram_bot_token.get_secret_value() == "123:tg-token"
    assert settings.telegram_api_url == "http://127.0.0.1:8081"
    assert settings.discord_bot_token is not None
    assert settings.discord_api_url == "http://127.0.0.1:9000/api"
    assert settings.database_url == "sqlite+aiosqlite:////tmp/x.db"
    assert settings.data_dir == Path("/tmp/wenwen")
    assert settings.chat_model == "claude-3-5-sonnet-20241022"
    assert settings.image_model == "dall-e-3"
    assert settings.edit_model == "dall-e-2"
    assert settings.mj_mode is MjMode.FAST
    assert settings.caption_mode is CaptionMode.ASK
    assert settings.max_prompt_chars == 1234
    assert settings.max_album_images == 5
    assert settings.mj_poll_interval == 2.5
    assert settings.chat_timeout == 90.0
    assert settings.log_level == "debug"


def test_lowercase_environment_names_work_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("chat_model", "gpt-4o")
    assert load_settings(_env_file=None).chat_model == "gpt-4o"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1,2", (1, 2)), ("123456789012345678", (123456789012345678,)), (" 1 ; 2 ,", (1, 2)), ("", ())],
)
def test_discord_guild_ids(monkeypatch: pytest.MonkeyPatch, raw: str, expected: tuple[int, ...]) -> None:
    monkeypatch.setenv("DISCORD_GUILD_IDS", raw)
    assert load_settings(_env_file=None).discord_guild_ids == expected


def test_overrides_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAT_MODEL", "from-env")
    settings = load_settings(_env_file=None, chat_model="from-override", discord_guild_ids="7,8")
    assert settings.chat_model == "from-override"
    assert settings.discord_guild_ids == (7, 8)


def _config_error(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> str:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_settings(_env_file=None)
    message = str(info.value)
    assert "\n" not in message
    assert name in message
    return message


def test_bad_mj_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    message = _config_error(monkeypatch, "MJ_MODE", "TURBO")
    assert "RELAX" in message


@pytest.mark.parametrize("value", ["api.wenwen-ai.com", "ftp://api.wenwen-ai.com", "localhost:8080"])
def test_base_url_without_scheme(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    message = _config_error(monkeypatch, "WENWEN_BASE_URL", value)
    assert "http" in message


def test_empty_base_url_is_an_error_not_none(monkeypatch: pytest.MonkeyPatch) -> None:
    # `WENWEN_BASE_URL=` in a .env must not leave the client without a base URL.
    _config_error(monkeypatch, "WENWEN_BASE_URL", "")


def test_empty_optional_urls_mean_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_API_URL", "")
    monkeypatch.setenv("DISCORD_API_URL", "  ")
    settings = load_settings(_env_file=None)
    assert settings.telegram_api_url is None
    assert settings.discord_api_url is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DISCORD_GUILD_IDS", "1,abc"),
        ("MAX_ALBUM_IMAGES", "40"),
        ("MAX_PROMPT_CHARS", "many"),
        ("MJ_POLL_INTERVAL", "0"),
        ("CAPTION_MODE", "sometimes"),
    ],
)
def test_other_bad_values_name_the_setting(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    _config_error(monkeypatch, name, value)


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    undocumented = [name.upper() for name in Settings.model_fields if f"`{name.upper()}`" not in readme]
    assert not undocumented, f"add these to the README's configuration table: {undocumented}"

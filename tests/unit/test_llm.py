"""Which API format and kind a chat model is, from configuration."""

from __future__ import annotations

from bot.config import Settings
from bot.llm import is_anthropic, is_image_model, matches_any


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_anthropic_by_configurable_prefix() -> None:
    default = settings()
    assert is_anthropic(default, "claude-3-5-sonnet-20241022")
    assert is_anthropic(default, "Claude-Opus")
    assert not is_anthropic(default, "gpt-4o")
    custom = settings(anthropic_model_prefixes="claude,anthropic/")
    assert is_anthropic(custom, "anthropic/sonnet")


def test_image_capable_chat_models_by_pattern() -> None:
    default = settings()
    assert is_image_model(default, "gpt-4o-image")
    assert is_image_model(default, "gemini-2.5-flash-image-preview")
    assert not is_image_model(default, "gpt-4o-mini")
    assert not is_image_model(default, "gemini-2.5-pro")


def test_allowed_patterns() -> None:
    assert matches_any("gpt-4o", ("gpt-4*",))
    assert not matches_any("gpt-image-1", ("gpt-4*", "claude-*"))

"""Telegram's size limits, which count UTF-16 code units, not characters."""

from __future__ import annotations

from aiogram.exceptions import TelegramBadRequest

from bot.text import split_text

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
PLACEHOLDER_LIMIT = 64  # ForceReply.input_field_placeholder


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def fit(text: str, limit: int) -> str:
    """`text` cut to `limit` UTF-16 units (Telegram's measure), ending in "…" when cut."""
    if utf16_len(text) <= limit:
        return text
    # "ignore" drops the half of a surrogate pair that the cut may leave at the end.
    return text.encode("utf-16-le")[: (limit - 1) * 2].decode("utf-16-le", errors="ignore") + "…"


def caption_and_rest(caption: str) -> tuple[str, str]:
    """The caption to attach, and what must follow as a message because it does not fit."""
    return (caption, "") if utf16_len(caption) <= CAPTION_LIMIT else ("", caption)


def split_for_telegram(text: str) -> list[str]:
    """Telegram's limit counts UTF-16 code units, so emoji-heavy text needs shorter chunks."""
    chunks: list[str] = []
    for limit in (TEXT_LIMIT, 3072, TEXT_LIMIT // 2):
        chunks = split_text(text, limit)
        if all(utf16_len(chunk) <= TEXT_LIMIT for chunk in chunks):
            break
    return chunks


def is_not_modified(exc: TelegramBadRequest) -> bool:
    return "message is not modified" in exc.message

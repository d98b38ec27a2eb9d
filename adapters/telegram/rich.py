"""Neutral rich text (bot.rich) → Telegram HTML."""

from __future__ import annotations

import html

from bot.rich import Span, Style

# Telegram counts the limit (4096) in UTF-16 units of the text without tags; rendered
# HTML is always longer than that, so splitting it at 3500 characters leaves room for
# emoji (two units each).
RICH_LIMIT = 3500

_TAGS = {Style.BOLD: "b", Style.ITALIC: "i", Style.CODE: "code"}


def span_html(span: Span) -> str:
    text = html.escape(span.text, quote=False)
    tag = _TAGS.get(span.style)
    return f"<{tag}>{text}</{tag}>" if tag else text

"""Rich text → Telegram HTML: styles as tags, user text escaped."""

from __future__ import annotations

from adapters.telegram.rich import span_html
from bot.rich import Span, Style


def test_styles_become_tags_and_text_is_escaped() -> None:
    assert span_html(Span("a<b>&c", Style.BOLD)) == "<b>a&lt;b&gt;&amp;c</b>"
    assert span_html(Span("x", Style.CODE)) == "<code>x</code>"
    assert span_html(Span("y", Style.ITALIC)) == "<i>y</i>"
    assert span_html(Span('"quoted" name')) == '"quoted" name'

"""A tiny rich-text document for reports: lines of styled spans, rendered by each adapter.

Handlers build a `Rich` document and hand it to `Outbox.send_rich`; each adapter renders
it its own way (Telegram HTML, Discord markdown, plain text in the terminal).
Renderers only decide how a span looks: splitting into messages happens here, at line
boundaries, so a tag is never cut in half.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum


class Style(StrEnum):
    PLAIN = "plain"
    BOLD = "bold"
    ITALIC = "italic"
    CODE = "code"


@dataclass(frozen=True)
class Span:
    text: str
    style: Style = Style.PLAIN


Line = tuple[Span, ...]
Piece = str | Span


def bold(text: str) -> Span:
    return Span(text, Style.BOLD)


def italic(text: str) -> Span:
    return Span(text, Style.ITALIC)


def code(text: str) -> Span:
    return Span(text, Style.CODE)


@dataclass(frozen=True)
class Rich:
    lines: tuple[Line, ...] = ()

    @classmethod
    def of(cls, *lines: Piece | Iterable[Piece]) -> Rich:
        """Each argument is one line: a string, a span, or a sequence of them."""
        return cls(tuple(_line(line) for line in lines))

    def __add__(self, other: Rich) -> Rich:
        return Rich(self.lines + other.lines)

    def plain(self) -> str:
        return "\n".join("".join(span.text for span in line) for line in self.lines)


def line_of(rendered: str, **spans: Span) -> Line:
    """A translated sentence whose `{name}` placeholders become styled spans.

    Render the `Text` with each such param set to its own placeholder (`chat="{chat}"`),
    then hand the result here: word order stays the translator's, styling stays ours.
    """
    pieces: list[Span] = []
    for n, part in enumerate(_PLACEHOLDER.split(rendered)):
        if n % 2:
            pieces.append(spans.get(part, Span("{" + part + "}")))
        elif part:
            pieces.append(Span(part))
    return tuple(pieces)


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _line(pieces: Piece | Iterable[Piece]) -> Line:
    if isinstance(pieces, str | Span):
        pieces = (pieces,)
    return tuple(Span(p) if isinstance(p, str) else p for p in pieces if p)


def render_chunks(doc: Rich, render_span: Callable[[Span], str], limit: int) -> list[str]:
    """Rendered messages of at most `limit` characters, split between lines.

    A single line longer than the limit (never produced by our reports) is cut as
    plain text rather than risking a broken tag.
    """
    chunks: list[str] = []
    current = ""
    for line in doc.lines:
        rendered = "".join(render_span(span) for span in line)
        if len(rendered) > limit:
            plain = "".join(span.text for span in line)
            rendered = plain if len(plain) <= limit else plain[: limit - 1] + "…"
        candidate = f"{current}\n{rendered}" if current else rendered
        if len(candidate) <= limit:
            current = candidate
            continue
        if current.strip():
            chunks.append(current)
        current = rendered
    if current.strip():
        chunks.append(current)
    return chunks

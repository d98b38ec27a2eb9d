"""The neutral rich-text document and its splitting into messages."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any

from bot.model import ChatAddress, SentMessage
from bot.rich import Rich, RichOutbox, Span, Style, bold, code, render_chunks, send_rich


def upper(span: Span) -> str:
    return f"[{span.text}]" if span.style is Style.BOLD else span.text


def test_lines_of_strings_spans_and_sequences() -> None:
    doc = Rich.of(bold("Title"), ("a ", code("x"), " b"), "", "plain")
    assert doc.plain() == "Title\na x b\n\nplain"
    assert doc.lines[0] == (Span("Title", Style.BOLD),)
    assert (doc + Rich.of("more")).plain().endswith("plain\nmore")


def test_chunks_are_split_between_lines_within_the_limit() -> None:
    doc = Rich.of(*(bold(f"line {n:02d}") for n in range(20)))
    chunks = render_chunks(doc, upper, 40)
    assert all(len(chunk) <= 40 for chunk in chunks)
    assert "\n".join(chunks) == "\n".join(f"[line {n:02d}]" for n in range(20))
    assert all(chunk.startswith("[") and chunk.endswith("]") for chunk in chunks), "no span cut"


def test_a_line_longer_than_the_limit_is_cut_as_plain_text() -> None:
    chunks = render_chunks(Rich.of(bold("x" * 100)), upper, 50)
    assert chunks == ["x" * 49 + "…"]


class PlainOutbox:
    """An outbox that only knows send_text (like an adapter without rich support)."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    @property
    def address(self) -> ChatAddress:
        return ChatAddress("test", "1")

    async def send_text(self, text: str, *, buttons: Any = ()) -> SentMessage:
        self.sent.append(text)
        return SentMessage(str(len(self.sent)))

    async def edit_text(self, message: SentMessage, text: str, *, buttons: Any = ()) -> None: ...

    async def send_images(self, images: Any, *, caption: str = "", buttons: Any = ()) -> SentMessage:
        raise AssertionError

    async def send_file(self, data: bytes, file_name: str, mime: str, *, caption: str = "") -> SentMessage:
        raise AssertionError

    def activity(self, kind: Any) -> AbstractAsyncContextManager[None]:
        raise AssertionError

    def stream(self) -> Any:
        raise AssertionError


class FancyOutbox(PlainOutbox):
    async def send_rich(self, doc: Rich) -> SentMessage:
        self.sent.append("rich:" + doc.plain())
        return SentMessage("r")


async def test_send_rich_falls_back_to_plain_text() -> None:
    plain, fancy = PlainOutbox(), FancyOutbox()
    doc = Rich.of(bold("Hi"), "there")
    await send_rich(plain, doc)
    await send_rich(fancy, doc)
    assert plain.sent == ["Hi\nthere"]
    assert fancy.sent == ["rich:Hi\nthere"]
    assert isinstance(fancy, RichOutbox) and not isinstance(plain, RichOutbox)

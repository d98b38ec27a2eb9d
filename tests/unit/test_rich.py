"""The neutral rich-text document and its splitting into messages."""

from __future__ import annotations

from bot.rich import Rich, Span, Style, bold, code, render_chunks


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

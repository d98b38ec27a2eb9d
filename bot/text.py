"""Splitting long answers into messages that fit a platform's limit."""

from __future__ import annotations

FENCE = "```"


def split_text(text: str, limit: int) -> list[str]:
    """Split at paragraph, line, then word boundaries; never cut a code block open.

    A chunk that ends inside a ``` block is closed there and the block is reopened
    (with its language tag) at the start of the next chunk.
    """
    if limit < 32:
        raise ValueError("limit too small to split sensibly")
    text = text.strip()
    if not text:
        return []
    chunks: list[str] = []
    reopen = ""
    while text:
        budget = limit - len(reopen)
        if len(text) <= budget:
            chunks.append(reopen + text)
            break
        # Leave room for a closing fence in case the cut lands inside a code block.
        cut = _cut_point(text, budget - len(FENCE) - 1)
        piece = text[:cut].rstrip()
        opened = _open_fence(reopen + piece)
        chunk = reopen + piece
        if opened is not None:
            chunk += "\n" + FENCE
            reopen = _reopening(opened) + "\n"
            # Inside code, leading spaces are indentation: keep them.
            text = text[cut:].lstrip("\n")
        else:
            reopen = ""
            text = text[cut:].lstrip("\n ")
        chunks.append(chunk)
    return chunks


def _cut_point(text: str, budget: int) -> int:
    window = text[:budget]
    for separator in ("\n\n", "\n", " "):
        position = window.rfind(separator)
        if position > budget // 3:
            return position + len(separator)
    return budget


def _open_fence(chunk: str) -> str | None:
    """The opening fence line (e.g. "```python") if the chunk leaves a code block open."""
    opening: str | None = None
    for line in chunk.split("\n"):
        stripped = line.strip()
        if stripped.startswith(FENCE):
            opening = None if opening is not None else stripped
    return opening


def _reopening(opening: str) -> str:
    """The fence that reopens a block: only its language tag, short enough to leave room for text."""
    words = opening.lstrip("`").split()
    return FENCE + (words[0][:16] if words else "")

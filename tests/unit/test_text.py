"""split_text: chunks fit, words survive, code blocks stay closed."""

from __future__ import annotations

import random

import pytest

from bot.text import FENCE, split_text

WORDS = ["a", "the", "quasar", "gateway", "Midjourney", "日本語", "🙂", "x" * 25, "longerwordhere", "--ar"]


def non_space(text: str) -> str:
    return "".join(text.split())


def fence_lines(chunk: str) -> list[str]:
    return [line.strip() for line in chunk.split("\n") if line.strip().startswith(FENCE)]


def words_outside_fences(text: str) -> str:
    """Every non-space character except those of fence lines (which split_text may add)."""
    lines = [line for line in text.split("\n") if not line.strip().startswith(FENCE)]
    return non_space("\n".join(lines))


def test_short_text_is_one_chunk() -> None:
    assert split_text("  hello world \n", 100) == ["hello world"]


def test_empty_text_is_no_chunk() -> None:
    assert split_text("", 100) == []
    assert split_text(" \n\n ", 100) == []


def test_limit_too_small_is_refused() -> None:
    with pytest.raises(ValueError, match="limit"):
        split_text("hello", 10)


def test_prefers_paragraph_boundaries() -> None:
    first = "First paragraph " + "word " * 10
    second = "Second paragraph " + "word " * 10
    chunks = split_text(f"{first.strip()}\n\n{second.strip()}", 100)
    assert chunks == [first.strip(), second.strip()]


def test_prefers_line_boundaries_over_spaces() -> None:
    lines = [f"line {i} " + "z" * 20 for i in range(10)]
    chunks = split_text("\n".join(lines), 100)
    assert len(chunks) > 1
    for chunk in chunks:
        assert len(chunk) <= 100
        # every chunk is made of whole lines
        assert all(line in lines for line in chunk.split("\n"))


def test_splits_at_spaces_when_there_are_no_lines() -> None:
    text = " ".join(f"w{i:03d}" for i in range(200))
    chunks = split_text(text, 64)
    assert all(len(chunk) <= 64 for chunk in chunks)
    assert " ".join(chunks).split() == text.split()


def test_enormous_word_is_hard_split() -> None:
    word = "".join(chr(ord("a") + i % 26) for i in range(1000))
    chunks = split_text(word, 100)
    assert len(chunks) >= 10
    assert all(len(chunk) <= 100 for chunk in chunks)
    assert "".join(chunks) == word


def test_code_block_crossing_a_boundary_is_closed_and_reopened() -> None:
    code = "\n".join(f"print('line {i}')" for i in range(30))
    text = f"Here is the code:\n\n```python\n{code}\n```\n\nThat is all."
    chunks = split_text(text, 200)
    assert len(chunks) > 2
    for chunk in chunks:
        assert len(chunk) <= 200
        assert len(fence_lines(chunk)) % 2 == 0, chunk
    for chunk in chunks[1:-1]:
        assert chunk.startswith("```python\n")
        assert chunk.endswith("\n```")
    assert chunks[0].startswith("Here is the code:")
    assert chunks[-1].endswith("That is all.")
    assert words_outside_fences("\n".join(chunks)) == words_outside_fences(text)


def test_code_indentation_survives_a_split() -> None:
    body = "\n".join(f"    value_{i} = compute({i})" for i in range(40))
    text = f"```python\ndef f():\n{body}\n```"
    chunks = split_text(text, 300)
    assert len(chunks) > 1
    for chunk in chunks[1:]:
        first_code_line = chunk.split("\n")[1]
        assert first_code_line.startswith("    value_"), chunk[:80]


def test_reopened_block_keeps_its_language_even_with_a_long_info_string() -> None:
    info = "python title='a very long file name that goes on and on.py' linenos"
    code = "\n".join(f"x{i} = {i}" for i in range(60))
    chunks = split_text(f"```{info}\n{code}\n```", 64)
    assert all(len(chunk) <= 64 for chunk in chunks)
    for chunk in chunks[1:]:
        assert chunk.startswith("```python")
    assert non_space("".join(c.replace(FENCE, "") for c in chunks)).count("x59=59") == 1


def test_unclosed_code_block_at_the_end() -> None:
    text = "```\n" + "\n".join(f"row {i}" for i in range(50))
    chunks = split_text(text, 80)
    for chunk in chunks[:-1]:
        assert len(fence_lines(chunk)) % 2 == 0
    assert all(len(chunk) <= 80 for chunk in chunks)


def _random_text(rng: random.Random, limit: int) -> str:
    parts: list[str] = []
    for _ in range(rng.randint(1, 40)):
        kind = rng.random()
        if kind < 0.15:
            # Fence lines are never longer than a chunk can hold whole (a longer one gets split).
            langs = ["", "python", "js", "bash"] + (["typescript-react-extended"] if limit >= 100 else [])
            lang = rng.choice(langs)
            lines = [
                " " * rng.choice([0, 2, 4, 8]) + " ".join(rng.choices(WORDS, k=rng.randint(1, 8)))
                for _ in range(rng.randint(1, 15))
            ]
            parts.append(f"\n```{lang}\n" + "\n".join(lines) + "\n```\n")
        elif kind < 0.2:
            parts.append("y" * rng.randint(50, 400))
        else:
            parts.append(" ".join(rng.choices(WORDS, k=rng.randint(1, 60))))
        parts.append(rng.choice([" ", "\n", "\n\n"]))
    return "".join(parts)


@pytest.mark.parametrize("seed", range(300))
def test_random_texts(seed: int) -> None:
    rng = random.Random(seed)
    limit = rng.choice([32, 50, 100, 257, 1000, 2000, 4096])
    text = _random_text(rng, limit)
    chunks = split_text(text, limit)

    assert chunks, "non-empty text gives at least one chunk"
    for chunk in chunks:
        assert 0 < len(chunk) <= limit
        assert chunk == chunk.strip("\n")
    if FENCE not in text:
        assert non_space("".join(chunks)) == non_space(text)
    else:
        for chunk in chunks[:-1]:
            assert len(fence_lines(chunk)) % 2 == 0, (seed, limit, chunk)
        assert words_outside_fences("\n".join(chunks)) == words_outside_fences(text), (seed, limit)


@pytest.mark.parametrize("limit", [32, 40, 64])
def test_long_fence_line_never_breaks_the_limit(limit: int) -> None:
    text = "```python some-very-long-attrs=1\n" + "\n".join(f"x{i} = {i}" for i in range(30)) + "\n```"
    chunks = split_text(text, limit)
    assert all(len(chunk) <= limit for chunk in chunks), [len(chunk) for chunk in chunks]
    assert words_outside_fences("\n".join(chunks)).count("x29=29") == 1

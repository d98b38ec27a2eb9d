"""Reading user text: trigger words, directives and filler removal.

The simulator's replies are driven by plain words in the last user message so
bot tests can steer it without any side channel.
"""

from __future__ import annotations

import re

INVALID_JSON_MARKER = "[[invalid-json]]"
FAIL_MARKER = "[[fail]]"
BANNED_WORDS = ("nsfw", "gore", "banned")

_DRAW = re.compile(r"\b(?:draw|paint)(?:s|ing)?\b|画|picture of", re.IGNORECASE)
_DIRECTIVE = re.compile(r"\btool:([A-Za-z0-9_-]+)(?:\*(\d{1,2}))?")
_LONG = re.compile(r"\[\[long:(\d{1,6})\]\]")
_MARKERS = re.compile(r"\[\[[a-z-]+(?::\d+)?\]\]")

_LEAD = re.compile(
    r"^(?:(?:please|pls|hey|hi|ok|okay|can you|could you|would you|will you|"
    r"i want you to|i want|i'd like|i would like)\b[\s,]*)+",
    re.IGNORECASE,
)
_VERB = re.compile(
    r"^(?:draw|paint|sketch|generate|create|render|imagine)\b(?:\s+me\b)?\s*",
    re.IGNORECASE,
)
_OBJECT = re.compile(
    r"^(?:an?\s+)?(?:picture|image|photo|drawing|painting|illustration)\s+of\b\s*",
    re.IGNORECASE,
)
_CN_LEAD = re.compile(r"^(?:请|帮我|给我|麻烦)*(?:画|生成|绘制)(?:一?[张幅个只条])?")
_TRAIL = re.compile(r"(?:[\s,]+(?:please|pls|thanks|thank you))?[\s.!?。！？]*$", re.IGNORECASE)


def wants_picture(text: str) -> bool:
    """True when the text says draw / paint / 画 / "picture of"."""
    return _DRAW.search(text) is not None


def directives(text: str) -> tuple[list[str], str]:
    """Every ``tool:<name>`` (``tool:<name>*N``: N calls) in the text, and the text without them."""
    names: list[str] = []
    for match in _DIRECTIVE.finditer(text):
        names += [match.group(1)] * int(match.group(2) or 1)
    return names, " ".join(_DIRECTIVE.sub(" ", text).split())


def requested_length(text: str) -> int | None:
    """``[[long:N]]`` asks for a reply of at least N characters."""
    match = _LONG.search(text)
    return int(match.group(1)) if match else None


def strip_markers(text: str) -> str:
    return " ".join(_MARKERS.sub(" ", text).split())


def clean_prompt(text: str) -> str:
    """The subject of a request with obvious filler removed.

    "Please draw me a picture of a red fox at sunset!" -> "a red fox at sunset";
    "画一只猫" -> "猫". Falls back to the stripped text if nothing would remain.
    """
    original = strip_markers(text)
    out = original
    for pattern in (_LEAD, _VERB, _OBJECT, _CN_LEAD):
        out = pattern.sub("", out, count=1).strip()
    out = _TRAIL.sub("", out).strip()
    return out or original


def banned_word(text: str) -> str | None:
    lowered = text.lower()
    for word in BANNED_WORDS:
        if re.search(rf"\b{word}\b", lowered):
            return word
    return None


def shorten(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."

"""Deterministic token estimates: tests can recompute every number by hand.

Text costs ceil(chars / 4) tokens; every image in a chat request or reply a
flat IMAGE_TOKENS.
"""

from __future__ import annotations

import math

IMAGE_TOKENS = 85

# Output tokens per generated image for token-billed image models, by quality
# (OpenAI's published 1024x1024 figures).
IMAGE_OUTPUT_TOKENS = {"low": 272, "medium": 1056, "high": 4160, "auto": 1056}


def chars_tokens(chars: int) -> int:
    return math.ceil(chars / 4)


def text_tokens(text: str) -> int:
    return chars_tokens(len(text))


def image_output_tokens(quality: str | None) -> int:
    return IMAGE_OUTPUT_TOKENS.get(quality or "auto", IMAGE_OUTPUT_TOKENS["auto"])

"""What the simulator has billed: the sum of every usage it reported."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Ledger:
    """Totals handed out by successful billable responses.

    ``requests`` counts responses per kind ("chat", "messages", "image_generation",
    "image_edit", "mj_imagine", "mj_blend", "mj_action", "embeddings", "transcription",
    "speech").
    ``image_tokens`` sums, for token-billed image models, the input image tokens
    plus the output tokens (an image model's output is image tokens).
    """

    requests: dict[str, int] = field(default_factory=dict)
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    image_tokens: int = 0
    images: int = 0
    mj_tasks: int = 0
    # Audio: seconds transcribed, characters read aloud.
    audio_seconds: int = 0
    characters: int = 0

    def add(
        self,
        kind: str,
        *,
        input_tokens: int = 0,
        output_tokens: int = 0,
        image_tokens: int = 0,
        images: int = 0,
        mj_tasks: int = 0,
        audio_seconds: int = 0,
        characters: int = 0,
    ) -> None:
        self.requests[kind] = self.requests.get(kind, 0) + 1
        self.input_tokens += input_tokens
        self.output_tokens += output_tokens
        self.total_tokens += input_tokens + output_tokens
        self.image_tokens += image_tokens
        self.images += images
        self.mj_tasks += mj_tasks
        self.audio_seconds += audio_seconds
        self.characters += characters

    def reset(self) -> None:
        self.requests.clear()
        self.input_tokens = self.output_tokens = self.total_tokens = 0
        self.image_tokens = self.images = self.mj_tasks = 0
        self.audio_seconds = self.characters = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": dict(self.requests),
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
            "image_tokens": self.image_tokens,
            "images": self.images,
            "mj_tasks": self.mj_tasks,
            "audio_seconds": self.audio_seconds,
            "characters": self.characters,
        }

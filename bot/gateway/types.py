"""Typed views of the gateway's answers. Unknown fields are ignored, as the contract asks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

OnText = Callable[[str], Awaitable[None]]
"""Called with the whole text so far each time a streamed answer grows."""


class _Lenient(BaseModel):
    # defer_build: each validator is built when first used, not at start-up (most of these
    # answers, Midjourney's or speech's, are never read by a given process).
    model_config = ConfigDict(extra="ignore", defer_build=True)


def as_int(value: object) -> int:
    """A JSON integer (token count, index); 0 for anything else, bools included."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


# --- chat -----------------------------------------------------------------------------


class ToolCallFunction(_Lenient):
    name: str = ""
    arguments: str = ""


class ToolCall(_Lenient):
    id: str = ""
    type: str = "function"
    function: ToolCallFunction = Field(default_factory=ToolCallFunction)


class ChatMessage(_Lenient):
    role: str = "assistant"
    content: str | list[dict[str, Any]] | None = None
    refusal: str | None = None
    tool_calls: list[ToolCall] | None = None


class ChatChoice(_Lenient):
    index: int = 0
    message: ChatMessage = Field(default_factory=ChatMessage)
    finish_reason: str | None = None


class TokenUsage(_Lenient):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class ChatCompletion(_Lenient):
    id: str = ""
    model: str = ""
    choices: list[ChatChoice]
    usage: TokenUsage | None = None

    @property
    def message(self) -> ChatMessage:
        return self.choices[0].message if self.choices else ChatMessage()

    @property
    def text(self) -> str:
        content = self.message.content
        if isinstance(content, list):
            return "".join(str(part.get("text", "")) for part in content)
        return content or ""

    @property
    def image_urls(self) -> list[str]:
        """Images sent as `image_url` content parts (some image-capable chat models do)."""
        content = self.message.content
        if not isinstance(content, list):
            return []
        urls: list[str] = []
        for part in content:
            image = part.get("image_url") if part.get("type") == "image_url" else None
            url = image.get("url") if isinstance(image, dict) else image
            if isinstance(url, str) and url:
                urls.append(url)
        return urls


@dataclass
class ChatResult:
    """What a (possibly streamed) chat turn produced, in either API format."""

    text: str
    model: str
    request_id: str
    input_tokens: int = 0
    output_tokens: int = 0
    finish_reason: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    complete: bool = True
    # The user stopped the stream (⏹): what came so far is the answer.
    stopped: bool = False
    # Image URLs that came as content parts rather than inside the text.
    image_urls: list[str] = field(default_factory=list)

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


# --- images ---------------------------------------------------------------------------


class ImageDatum(_Lenient):
    b64_json: str | None = None
    url: str | None = None
    revised_prompt: str | None = None


class InputTokensDetails(_Lenient):
    text_tokens: int = 0
    image_tokens: int = 0


class ImageUsage(_Lenient):
    total_tokens: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    input_tokens_details: InputTokensDetails | None = None


class ImagesResponse(_Lenient):
    created: int = 0
    data: list[ImageDatum]
    usage: ImageUsage | None = None


@dataclass
class ImageResult:
    """Decoded images, downloaded at once because gateway URLs expire."""

    images: list[bytes]
    model: str
    usage: ImageUsage | None
    request_id: str


# --- Midjourney -----------------------------------------------------------------------

MJ_ACCEPTED = frozenset({1, 21, 22})
MJ_FINAL = frozenset({"SUCCESS", "FAILURE", "CANCEL"})


class MjSubmitResponse(_Lenient):
    code: int
    description: str = ""
    properties: dict[str, Any] | None = None
    result: str | None = None

    @field_validator("result", mode="before")
    @classmethod
    def _id_as_text(cls, value: object) -> object:
        # Ids are 16+ digit strings; some docs print them as numbers. Never go via float.
        if isinstance(value, int):
            return str(value)
        return value


class MjButtonInfo(_Lenient):
    customId: str
    emoji: str = ""
    label: str = ""


class MjTask(_Lenient):
    id: str
    action: str = ""
    prompt: str = ""
    status: str = ""
    progress: str = ""
    imageUrl: str = ""
    failReason: str | None = ""
    buttons: list[MjButtonInfo] | None = None
    properties: dict[str, Any] | None = None

    @property
    def final_prompt(self) -> str:
        """A Describe (or Shorten) result: `properties.finalPrompt`, else the prompt field."""
        found = (self.properties or {}).get("finalPrompt")
        return found if isinstance(found, str) and found.strip() else self.prompt

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value

    @property
    def is_final(self) -> bool:
        return self.status in MJ_FINAL


# --- embeddings / models --------------------------------------------------------------


class EmbeddingDatum(_Lenient):
    index: int
    embedding: list[float]


class EmbeddingsResponse(_Lenient):
    data: list[EmbeddingDatum]
    model: str = ""
    usage: TokenUsage | None = None


class ModelInfo(_Lenient):
    id: str
    owned_by: str = ""


class ModelsResponse(_Lenient):
    data: list[ModelInfo]


# --- audio ----------------------------------------------------------------------------


class AudioUsage(_Lenient):
    """`{"type": "duration", "seconds": 3}` for whisper-1; token counts for gpt-4o-*-transcribe."""

    type: str = ""
    seconds: float = 0


class TranscriptionResponse(_Lenient):
    text: str
    duration: float | None = None  # verbose_json only
    usage: AudioUsage | None = None


@dataclass(frozen=True)
class Transcription:
    text: str
    model: str
    request_id: str
    # What the gateway says it heard, when it says so (billing falls back to the platform's duration).
    seconds: float | None = None


@dataclass(frozen=True)
class Speech:
    data: bytes = field(repr=False)
    mime: str
    model: str
    request_id: str

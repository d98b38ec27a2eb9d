"""Parameter rules of the Images API (API reference 5), per model.

Each check raises :class:`Invalid` with OpenAI's wording; handlers wrap it in
an OpenAI-shaped 400.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SIZES = {
    "dall-e-2": ("256x256", "512x512", "1024x1024"),
    "dall-e-3": ("1024x1024", "1792x1024", "1024x1792"),
    "gpt-image-1": ("1024x1024", "1536x1024", "1024x1536", "auto"),
}
QUALITIES = {
    "dall-e-2": ("standard",),
    "dall-e-3": ("standard", "hd"),
    "gpt-image-1": ("low", "medium", "high", "auto"),
}
PROMPT_LIMITS = {"dall-e-2": 1000, "dall-e-3": 4000}
DEFAULT_PROMPT_LIMIT = 32000
_SIZE = re.compile(r"^(\d{2,5})x(\d{2,5})$")


class Invalid(ValueError):
    def __init__(self, message: str, code: str = "invalid_value") -> None:
        super().__init__(message)
        self.code = code


def is_dalle(model: str) -> bool:
    return model.startswith("dall-e")


def _supported(name: str, value: str, allowed: tuple[str, ...]) -> Invalid:
    listed = ", ".join(f"'{a}'" for a in allowed)
    return Invalid(f"Invalid value: '{value}'. Supported values for '{name}' are: {listed}.")


@dataclass(frozen=True)
class ImageParams:
    model: str
    prompt: str
    n: int
    size: tuple[int, int] | None  # None = "auto"
    quality: str | None
    response_format: str

    @property
    def token_billed(self) -> bool:
        """Everything but dall-e returns base64 and reports token usage."""
        return not is_dalle(self.model)


def check_prompt(model: str, prompt: Any) -> str:
    if not isinstance(prompt, str) or not prompt.strip():
        raise Invalid("Missing required parameter: 'prompt'.", "missing_required_parameter")
    limit = PROMPT_LIMITS.get(model, DEFAULT_PROMPT_LIMIT)
    if len(prompt) > limit:
        raise Invalid(
            f"Invalid 'prompt': string too long. Expected a string with maximum length {limit}, "
            f"but got a string with length {len(prompt)} instead.",
            "string_above_max_length",
        )
    return prompt


def check_n(model: str, raw: Any) -> int:
    try:
        n = 1 if raw is None or raw == "" else int(raw)
    except (TypeError, ValueError):
        raise Invalid(f"Invalid 'n': expected an integer, but got {raw!r} instead.", "invalid_type") from None
    if n < 1:
        raise Invalid(
            f"Invalid 'n': integer below minimum value. Expected a value >= 1, but got {n} instead.",
            "integer_below_min_value",
        )
    if n > 10:
        raise Invalid(
            f"Invalid 'n': integer above maximum value. Expected a value <= 10, but got {n} instead.",
            "integer_above_max_value",
        )
    if model == "dall-e-3" and n != 1:
        raise Invalid("Invalid 'n': dall-e-3 only supports n=1.", "integer_above_max_value")
    return n


def check_size(model: str, raw: Any) -> tuple[int, int] | None:
    if raw is None or raw == "":
        return None if model not in ("dall-e-2", "dall-e-3") else (1024, 1024)
    value = str(raw)
    allowed = SIZES.get(model)
    if allowed is not None and value not in allowed:
        raise _supported("size", value, allowed)
    if value == "auto":
        return None
    match = _SIZE.match(value)
    if match is None:
        raise Invalid(f"Invalid value: '{value}'. Expected a size like '1024x1024' or 'auto'.")
    return int(match.group(1)), int(match.group(2))


def check_quality(model: str, raw: Any) -> str | None:
    if raw is None or raw == "":
        return None
    allowed = QUALITIES.get(model)
    if allowed is not None and raw not in allowed:
        raise _supported("quality", str(raw), allowed)
    return str(raw)


def check_response_format(model: str, raw: Any) -> str:
    if not is_dalle(model):
        return "b64_json"  # token-billed models always answer in base64
    if raw is None or raw == "":
        return "url"
    if raw not in ("url", "b64_json"):
        raise _supported("response_format", str(raw), ("url", "b64_json"))
    return str(raw)


def check_generation(body: Mapping[str, Any]) -> ImageParams:
    model = body.get("model") or "dall-e-2"
    if not isinstance(model, str):
        raise Invalid("Invalid 'model': expected a string.", "invalid_type")
    prompt = check_prompt(model, body.get("prompt"))
    n = check_n(model, body.get("n"))
    size = check_size(model, body.get("size"))
    quality = check_quality(model, body.get("quality"))
    style = body.get("style")
    if style not in (None, "") and model == "dall-e-3" and style not in ("vivid", "natural"):
        raise _supported("style", str(style), ("vivid", "natural"))
    return ImageParams(
        model, prompt, n, size, quality, check_response_format(model, body.get("response_format"))
    )

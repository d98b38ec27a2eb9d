"""POST /v1/embeddings: hashed bag-of-words vectors, so shared words mean high cosine."""

from __future__ import annotations

import base64
import hashlib
import math
import re
import struct
from typing import Any

from aiohttp import web

from .bodies import read_model_request
from .errors import ApiError, openai_error
from .state import sim_state
from .tokens import text_tokens

DEFAULT_DIMENSIONS = 256
MAX_INPUTS = 2048
# Words, plus single CJK characters (Chinese has no spaces between words).
_TOKENS = re.compile(r"[\u4e00-\u9fff]|[^\W_]+", re.UNICODE)


def embed(text: str, dimensions: int) -> list[float]:
    """L2-normalised hashed bag of words; deterministic across runs."""
    vector = [0.0] * dimensions
    for word in _TOKENS.findall(text.lower()):
        digest = hashlib.sha256(word.encode()).digest()
        slot = int.from_bytes(digest[:4], "little") % dimensions
        vector[slot] += 1.0 if digest[4] & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in vector))
    if norm == 0:
        vector[0], norm = 1.0, 1.0  # empty text still gets a unit vector
    return [v / norm for v in vector]


def _inputs(raw: Any) -> list[str] | None:
    """string | string[] | int[] | int[][] as texts (token ids become their digits)."""
    if isinstance(raw, str):
        return [raw] if raw else None
    if not isinstance(raw, list) or not raw or len(raw) > MAX_INPUTS:
        return None
    if all(isinstance(i, int) for i in raw):
        return [" ".join(map(str, raw))]
    texts: list[str] = []
    for item in raw:
        if isinstance(item, str) and item:
            texts.append(item)
        elif isinstance(item, list) and item and all(isinstance(i, int) for i in item):
            texts.append(" ".join(map(str, item)))
        else:
            return None
    return texts


async def embeddings(request: web.Request) -> web.Response:
    state = sim_state(request)

    def bad(message: str) -> ApiError:
        return openai_error(request, 400, message)

    body, model = await read_model_request(request, bad)
    texts = _inputs(body.get("input"))
    if texts is None:
        raise bad("'$.input' is invalid: expected a non-empty string or array (at most 2048 items)")
    dimensions = body.get("dimensions", DEFAULT_DIMENSIONS)
    if not isinstance(dimensions, int) or isinstance(dimensions, bool) or not 1 <= dimensions <= 3072:
        raise bad("Invalid 'dimensions': expected an integer between 1 and 3072")
    encoding = body.get("encoding_format") or "float"
    if encoding not in ("float", "base64"):
        raise bad(f"Invalid value: '{encoding}'. Supported values are: 'float' and 'base64'.")
    data: list[dict[str, Any]] = []
    for index, text in enumerate(texts):
        vector = embed(text, dimensions)
        value: Any = vector
        if encoding == "base64":
            packed = struct.pack(f"<{len(vector)}f", *vector)  # little-endian float32
            value = base64.b64encode(packed).decode("ascii")
        data.append({"object": "embedding", "index": index, "embedding": value})
    tokens = sum(max(1, text_tokens(t)) for t in texts)
    state.ledger.add("embeddings", input_tokens=tokens)
    return web.json_response(
        {
            "object": "list",
            "data": data,
            "model": model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
    )

"""Reading request bodies under the gateway's size limit, and logging what was read."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web

from .errors import ApiError, family_error
from .records import RECORD, Upload, shorten_value
from .state import sim_state

ErrorFactory = Callable[[str], ApiError]
_CHUNK = 64 * 1024


def too_large(request: web.Request) -> ApiError:
    limit = sim_state(request).config.max_body_mb
    return family_error(
        request, 413, f"request body too large (limit {limit:g} MB)", code="read_request_body_failed"
    )


async def drain(request: web.Request) -> None:
    """Swallow the rest of an oversized body so the client can read our 413."""
    while await request.content.readany():
        pass


async def read_body(request: web.Request) -> bytes:
    limit = sim_state(request).config.max_body_bytes
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(_CHUNK):
        size += len(chunk)
        if size > limit:
            await drain(request)
            raise too_large(request)
        chunks.append(chunk)
    if (record := request.get(RECORD)) is not None:
        record.body_bytes = size
    return b"".join(chunks)


async def read_json(request: web.Request, on_error: ErrorFactory) -> Any:
    raw = await read_body(request)
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise on_error(f"invalid JSON body: {exc}") from exc
    if (record := request.get(RECORD)) is not None:
        record.json = shorten_value(body)
    return body


async def read_json_object(request: web.Request, on_error: ErrorFactory) -> dict[str, Any]:
    body = await read_json(request, on_error)
    if not isinstance(body, dict):
        raise on_error("request body must be a JSON object")
    return body


async def read_model_request(
    request: web.Request, on_error: ErrorFactory, *, missing: str = "model is required"
) -> tuple[dict[str, Any], str]:
    """A JSON object naming its `model`, as every chat-like endpoint requires."""
    body = await read_json_object(request, on_error)
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise on_error(missing)
    return body, model


@dataclass(frozen=True)
class FormFile:
    field: str
    filename: str
    content_type: str
    data: bytes


@dataclass
class Form:
    fields: dict[str, str] = field(default_factory=dict)
    files: list[FormFile] = field(default_factory=list)


async def read_multipart(request: web.Request, on_error: ErrorFactory) -> Form:
    """Parse multipart/form-data with aiohttp's reader, counting bytes against the limit."""
    if not request.content_type.startswith("multipart/form-data"):
        raise on_error(f"Invalid Content-Type {request.content_type!r}: expected multipart/form-data")
    limit = sim_state(request).config.max_body_bytes
    form = Form()
    size = 0
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                continue  # nested multipart: not used by any image API
            data = bytearray()
            while chunk := await part.read_chunk(_CHUNK):
                size += len(chunk)
                if size > limit:
                    await drain(request)
                    raise too_large(request)
                data.extend(chunk)
            name = part.name or ""
            if part.filename is not None:
                content_type = part.headers.get("Content-Type", "application/octet-stream")
                form.files.append(FormFile(name, part.filename, content_type, bytes(data)))
            else:
                form.fields[name] = data.decode(part.get_charset("utf-8"), errors="replace")
    except (ValueError, AssertionError, RuntimeError) as exc:
        raise on_error(f"malformed multipart body: {exc}") from exc
    if (record := request.get(RECORD)) is not None:
        record.body_bytes = size
        record.form = {k: shorten_value(v) for k, v in form.fields.items()}
        record.files = [Upload(f.field, f.filename, f.content_type, len(f.data)) for f in form.files]
    return form

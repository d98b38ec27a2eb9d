"""Small helpers shared by the simulator tests."""

from __future__ import annotations

import base64
import io
from typing import Any

from PIL import Image

KEY = "sim-key"
AUTH = {"Authorization": f"Bearer {KEY}"}


def picture(colour: str = "red", size: tuple[int, int] = (64, 48), fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format=fmt)
    return out.getvalue()


def data_url(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def decode_png(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def assert_request_id(message: str) -> None:
    assert message.rsplit(" (request id: ", 1)[1].endswith(")"), message

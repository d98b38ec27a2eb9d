"""Small helpers shared by the simulator tests."""

from __future__ import annotations

import asyncio
import base64
import io
import time
from typing import Any

import httpx
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


async def mj_finished(client: httpx.AsyncClient, task_id: str, *, poll: float = 0.02) -> dict[str, Any]:
    """Poll a Midjourney task until it succeeds or fails (5 s at most); return it."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        response = await client.get(f"/mj/task/{task_id}/fetch")
        assert response.status_code == 200, response.text
        task: dict[str, Any] = response.json()
        if task["status"] in ("SUCCESS", "FAILURE"):
            return task
        await asyncio.sleep(poll)
    raise AssertionError(f"task {task_id} never finished")

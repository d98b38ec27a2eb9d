"""The core's services over a real database, with a scripted gateway and a recording outbox.

The gateway answers through `httpx.MockTransport`: each test says what every endpoint
returns, so cases the simulator never produces (no request id, an empty answer) are easy.
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from PIL import Image

from bot.app import Services, build_services
from bot.config import Settings
from bot.coordination.choose import shared_state
from bot.core import Core
from bot.gateway.downloads import Downloader, DownloadPolicy
from bot.lifecycle.instance import Instance
from bot.model import (
    Activity,
    ButtonRows,
    ChatAddress,
    ImageAttachment,
    Incoming,
    OutImage,
    SentMessage,
    User,
)
from bot.observability import Metrics
from bot.rich import Rich
from storage import Database
from storage.instances import liveness_for
from storage.writer import Writer

CHAT = ChatAddress("tg", "42")
ANN = User("42", "ann")

Route = Callable[[httpx.Request], httpx.Response]


def settings(**values: Any) -> Settings:
    values.setdefault("wenwen_api_key", "test-key")
    values.setdefault("embedding_model", "")
    values.setdefault("rate_limit_per_minute", 0)
    return Settings(_env_file=None, **values)


@asynccontextmanager
async def services(db: Database, routes: dict[str, Route], **values: Any) -> AsyncIterator[Services]:
    """Services whose gateway answers `routes` (path → response); any other path fails the call."""

    def answer(request: httpx.Request) -> httpx.Response:
        route = routes.get(request.url.path)
        if route is None:
            raise AssertionError(f"unexpected gateway call {request.url.path}")
        return route(request)

    chosen = settings(**values)
    instance = Instance(db, liveness_for(db.engine))
    await instance.start()
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        downloader = Downloader(DownloadPolicy.for_gateway(chosen.wenwen_base_url), http)
        writer = Writer(db)
        try:
            shared = shared_state(chosen, db, instance, None)
            yield build_services(
                chosen, http, downloader, db, instance, writer=writer, shared=shared, metrics=Metrics()
            )
        finally:
            await writer.close()
            await downloader.aclose()
            await instance.stop()


def sse(*chunks: dict[str, Any], headers: dict[str, str] | None = None) -> Route:
    """A streamed chat answer made of these chunks, then [DONE]."""
    body = "".join(f"data: {json.dumps(chunk)}\n\n" for chunk in chunks) + "data: [DONE]\n\n"
    return lambda _: httpx.Response(
        200, text=body, headers={"content-type": "text/event-stream", **(headers or {})}
    )


def completion(content: str, *, request_id: str = "cmpl-1") -> Route:
    """A whole (non-streamed) chat answer."""
    payload = {
        "id": request_id,
        "object": "chat.completion",
        "model": "gpt-4o-mini",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25},
    }
    return lambda _: httpx.Response(200, json=payload)


def png(color: str = "red", size: tuple[int, int] = (32, 32)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def photo(data: bytes) -> ImageAttachment:
    async def fetch() -> bytes:
        return data

    return ImageAttachment(fetch, "photo.png", "image/png", len(data))


@dataclass
class RecordingStream:
    pushed: list[str] = field(default_factory=list)
    final: str | None = None
    abandoned: bool = False
    buttons: ButtonRows = ()
    final_buttons: ButtonRows = ()

    async def push(self, text_so_far: str) -> None:
        self.pushed.append(text_so_far)

    async def finish(self, final_text: str, *, buttons: ButtonRows = ()) -> None:
        self.final = final_text
        self.final_buttons = buttons

    async def abandon(self, note: str = "") -> None:
        self.abandoned = True


@dataclass
class RecordingOutbox:
    """Every reply, in order: texts (edits included), image batches, files, finished streams."""

    address: ChatAddress = CHAT
    texts: list[str] = field(default_factory=list)
    images: list[Sequence[OutImage]] = field(default_factory=list)
    voices: list[bytes] = field(default_factory=list)
    streams: list[RecordingStream] = field(default_factory=list)

    async def send_text(self, text: str, *, buttons: ButtonRows = ()) -> SentMessage:
        self.texts.append(text)
        return SentMessage(str(len(self.texts)))

    async def edit_text(self, message: SentMessage, text: str, *, buttons: ButtonRows = ()) -> None:
        self.texts.append(text)

    async def edit_buttons(self, message: SentMessage, buttons: ButtonRows = ()) -> None:
        return None

    async def send_images(
        self, images: Sequence[OutImage], *, caption: str = "", buttons: ButtonRows = ()
    ) -> SentMessage:
        self.images.append(images)
        return SentMessage(f"images{len(self.images)}")

    async def send_file(self, data: bytes, file_name: str, mime: str, *, caption: str = "") -> SentMessage:
        return SentMessage(file_name)

    async def send_voice(self, data: bytes, file_name: str, mime: str) -> SentMessage:
        self.voices.append(data)
        return SentMessage(file_name)

    async def send_rich(self, doc: Rich) -> SentMessage:
        return await self.send_text(doc.plain())

    @asynccontextmanager
    async def activity(self, kind: Activity) -> AsyncIterator[None]:
        yield

    def stream(self, buttons: ButtonRows = ()) -> RecordingStream:
        self.streams.append(RecordingStream(buttons=buttons))
        return self.streams[-1]


async def handle(services: Services, msg: Incoming) -> RecordingOutbox:
    """Run one message through the core, as an adapter would."""
    out = RecordingOutbox(msg.address)
    await Core(services.deps).handle(msg, out)
    return out

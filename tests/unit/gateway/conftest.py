"""A GatewayClient over `httpx.MockTransport`: each test supplies the gateway's answers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from bot.gateway.client import GatewayClient, Timeouts
from bot.gateway.downloads import Downloader, DownloadPolicy

KEY = "sk-unit-Zq7XpL9rT2vW8yB4mN"
BASE = "https://gw.example.test"

Handler = Callable[[httpx.Request], httpx.Response]
MakeClient = Callable[..., GatewayClient]


def json_reply(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def sse_body(*events: dict[str, Any] | str) -> bytes:
    """`data:` lines as the gateway writes them; a str is sent verbatim (e.g. "[DONE]")."""
    lines = [f"data: {e if isinstance(e, str) else json.dumps(e)}\n\n" for e in events]
    return "".join(lines).encode()


def sse_reply(*events: dict[str, Any] | str) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=sse_body(*events))


class StallStream(httpx.AsyncByteStream):
    """Sends some bytes, then the gateway goes quiet until the read timeout fires."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self._data
        raise httpx.ReadTimeout("The read operation timed out")


def chunk(content: str | None = None, *, finish: str | None = None, **delta: Any) -> dict[str, Any]:
    if content is not None:
        delta["content"] = content
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def usage_chunk(prompt: int, completion: int) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "model": "gpt-4o-mini",
        "choices": [],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }


# The image CDN is trusted like the gateway here, so its downloads reach the mock transport
# (the download policy itself is tested over real sockets: tests/integration/test_downloads.py).
CDN_ORIGIN = ("https", "cdn.example.test", 443)


@pytest.fixture
async def make_client() -> AsyncIterator[MakeClient]:
    """`make_client(handler, max_download_bytes=…, **GatewayClient kwargs)`; closed afterwards."""
    opened: list[httpx.AsyncClient | Downloader] = []

    def make(handler: Handler, *, max_download_bytes: int = 30 * 1024 * 1024, **kw: Any) -> GatewayClient:
        http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        policy = DownloadPolicy.for_gateway(BASE, max_bytes=max_download_bytes)
        downloads = Downloader(
            DownloadPolicy(policy.trusted_origins | {CDN_ORIGIN}, max_bytes=max_download_bytes), http
        )
        opened.extend([downloads, http])
        kw.setdefault("mj_busy_wait", 0.001)
        return GatewayClient(http, BASE + "/", SecretStr(KEY), Timeouts(), downloads=downloads, **kw)

    yield make
    for closable in opened:
        await closable.aclose()

"""The HTTP client for the gateway: httpx's API over aiohttp's connection pool.

httpx's own pool (httpcore) scans every connection for every request it queues and frees:
with the 1 000 connections a busy bot keeps to one slow gateway, that scan was a fifth of
the bot's CPU, and httpcore's pure-Python HTTP/1.1 parser much of the rest of a request's
cost (2.6 ms of CPU per streamed HTTPS request against 1.5 ms over aiohttp: bench/http2.py).
So requests keep httpx's types, timeouts and exceptions, and can travel over aiohttp
(`httpx_aiohttp`, by an httpx maintainer), whose pool and C parser are cheap at any size.
Over TLS that costs memory instead (asyncio's 256 KiB buffer per connection), so by default
only a plain-HTTP gateway gets it (GATEWAY_TRANSPORT, bot.config).

Two things httpx_aiohttp does not give, added here: a wait for a free connection that ends
in `httpx.PoolTimeout` (the bot tells the user it is busy, not that the gateway is slow),
and a connection refused or reset reported as `httpx.ConnectError` rather than as a
`ConnectTimeout`. HTTP/2 (`GATEWAY_HTTP2`) stays on httpx's own transport: aiohttp has none.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator

import httpx
from httpx_aiohttp import AiohttpTransport


def uses_aiohttp(transport: str, base_url: str) -> bool:
    """GATEWAY_TRANSPORT: "auto" takes aiohttp's pool for plain HTTP only (see bot.config)."""
    if transport == "auto":
        return base_url.lower().startswith("http://")
    return transport == "aiohttp"


def gateway_client(
    *,
    max_connections: int,
    keepalive_connections: int,
    http2: bool,
    aiohttp: bool = True,
    verify: ssl.SSLContext | bool = True,
) -> httpx.AsyncClient:
    """The bot's client: aiohttp's pool over HTTP/1.1, httpx's own transport for HTTP/2.

    `aiohttp=False` keeps httpx's transport for HTTP/1.1 too (bench/http2.py compares them).
    """
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=keepalive_connections)
    if http2 or not aiohttp:
        return httpx.AsyncClient(limits=limits, http2=http2, verify=verify)
    return httpx.AsyncClient(transport=PooledTransport(limits, verify=verify))


def _masked(exc: httpx.ConnectTimeout) -> bool:
    """An aiohttp connection error (refused, reset, closed early) that httpx_aiohttp reported
    as `ConnectTimeout`: a real timeout has one as its cause."""
    return not isinstance(exc.__cause__, asyncio.TimeoutError)


class PooledTransport(httpx.AsyncBaseTransport):
    """aiohttp under httpx, with at most `limits.max_connections` requests on the wire.

    Only real timeouts stay timeouts (`_masked`).

    A request holds its slot until its response is closed (a streamed answer holds it for the
    whole stream), as a connection of httpx's pool would.
    """

    def __init__(self, limits: httpx.Limits, *, verify: ssl.SSLContext | bool = True) -> None:
        self._inner = AiohttpTransport(limits=limits, verify=verify)
        self._slots = asyncio.Semaphore(limits.max_connections or 1_000_000)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        wait = request.extensions.get("timeout", {}).get("pool")
        try:
            async with asyncio.timeout(wait):
                await self._slots.acquire()
        except TimeoutError:
            raise httpx.PoolTimeout("no free connection to the gateway", request=request) from None
        try:
            response = await self._inner.handle_async_request(request)
        except httpx.ConnectTimeout as exc:
            self._slots.release()
            if _masked(exc):
                raise httpx.ConnectError(str(exc), request=request) from exc.__cause__
            raise
        except BaseException:
            self._slots.release()
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _Releasing(response.stream, self._slots)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


class _Releasing(httpx.AsyncByteStream):
    """A response body that gives its request's slot back once, when it is closed."""

    def __init__(self, inner: httpx.AsyncByteStream, slots: asyncio.Semaphore) -> None:
        self._inner = inner
        self._slots: asyncio.Semaphore | None = slots

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._inner:
                yield chunk
        except httpx.ConnectTimeout as exc:
            if _masked(exc):
                raise httpx.ReadError(str(exc)) from exc.__cause__
            raise

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            if self._slots is not None:
                self._slots.release()
                self._slots = None

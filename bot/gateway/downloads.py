"""The one way the bot fetches an image from a URL it did not choose (anti-SSRF).

Gateway image URLs, Midjourney `imageUrl`, dall-e links and markdown images in chat answers
all come from outside; a chat member can steer them at 127.0.0.1, 169.254.169.254 or 10.x.
Every URL and every redirect hop is judged here:

- the gateway's own origin (`WENWEN_BASE_URL`) is fetched with the shared gateway client;
- any other URL must be http(s) without userinfo, and its host must resolve only to public
  unicast addresses (`addresses.is_public_address`), unless an operator listed the host in
  `DOWNLOAD_ALLOWED_HOSTS`;
- redirects are followed by hand, at most `max_redirects`, each hop judged again;
- one deadline covers all hops, the body is capped while streaming, and its first bytes must
  be an image signature.

Why the check cannot be fooled by DNS rebinding: untrusted URLs go through a private
`httpx.AsyncClient` whose transport is an `httpcore.AsyncConnectionPool` with our own
`_PinnedBackend` as its network backend. httpcore asks the backend to `connect_tcp(host,
port)` for every new connection; the backend resolves the host once, refuses the lot if any
address is internal, and opens the socket to a checked address itself. There is no second
lookup to swap, and TLS still verifies the certificate and sends SNI for the URL's host name
(httpcore takes those from the request origin, not from the socket). The transport is the
few lines of `httpx.AsyncHTTPTransport.handle_async_request` that map requests to httpcore;
everything else (HTTP/1.1, TLS, pooling, timeouts) is the libraries' own code.

Why a signature check and not Pillow: the first bytes decide before the rest is downloaded
(an HTML page is refused after one read), it costs nothing on the event loop, and the full
decode that catches corrupt files already happens in `bot.imaging.check_image` before any
image reaches a chat. `Image.verify()` would need the whole body and a thread the deadline
cannot cancel.

State: the private client's connection pool lives in this process; nothing is shared.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import socket
import ssl
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from ipaddress import ip_address
from typing import Protocol

import httpcore
import httpx

from bot.errors import DownloadRefused, GatewayTimeout, Unavailable
from bot.gateway.addresses import IPAddress, is_public_address, parse_host_literal

__all__ = ["DownloadPolicy", "Downloader", "Resolver", "SystemResolver"]

log = logging.getLogger(__name__)

Origin = tuple[str, str, int]

_DEFAULT_PORTS = {"http": 80, "https": 443}
# Types a server may put on an image; anything else (text/html, application/json) is refused.
_OCTET_STREAMS = frozenset({"application/octet-stream", "binary/octet-stream"})
_SNIFF_BYTES = 32
# Identity: a size cap on what the server sends is then a cap on what we hold.
_HEADERS = {"Accept": "image/*", "Accept-Encoding": "identity"}


class Resolver(Protocol):
    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        """Every address `host` resolves to (tests map fake names to loopback)."""
        ...


class SystemResolver:
    """The operating system's resolver (getaddrinfo), off the event loop."""

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        return list(dict.fromkeys(ip_address(str(info[4][0])) for info in infos))


def _host_key(host: str) -> str:
    """Host names compare case-insensitively; `example.com.` is `example.com`."""
    return host.strip().lower().removesuffix(".")


def _origin(url: httpx.URL) -> Origin:
    return url.scheme, _host_key(url.raw_host.decode("ascii")), url.port or _DEFAULT_PORTS.get(url.scheme, 0)


@dataclass(frozen=True)
class DownloadPolicy:
    """Where images may come from, and how long and large a download may be."""

    trusted_origins: frozenset[Origin]  # the gateway's (scheme, host, port): fetched as-is
    allowed_hosts: frozenset[str] = frozenset()  # DOWNLOAD_ALLOWED_HOSTS: trusted even if internal
    max_redirects: int = 3
    deadline: float = 60.0  # the whole download, every hop, however slowly the bytes drip
    max_bytes: int = 20 * 1024 * 1024

    def __post_init__(self) -> None:
        hosts = frozenset(key for host in self.allowed_hosts if (key := _host_key(host)))
        object.__setattr__(self, "allowed_hosts", hosts)  # normalised once, compared often

    @classmethod
    def for_gateway(
        cls,
        base_url: str,
        *,
        allowed_hosts: Iterable[str] = (),
        max_redirects: int = 3,
        deadline: float = 60.0,
        max_bytes: int = 20 * 1024 * 1024,
    ) -> DownloadPolicy:
        return cls(
            trusted_origins=frozenset({_origin(httpx.URL(base_url))}),
            allowed_hosts=frozenset(allowed_hosts),
            max_redirects=max_redirects,
            deadline=deadline,
            max_bytes=max_bytes,
        )

    def is_trusted(self, url: httpx.URL) -> bool:
        return _origin(url) in self.trusted_origins

    def is_allowed_host(self, host: str) -> bool:
        return _host_key(host) in self.allowed_hosts


def _refuse(reason: str, host: str | None) -> DownloadRefused:
    """A refusal naming the host only: signed links carry tokens in the path and query."""
    detail = f"image download refused: {reason}" + (f" (host {host})" if host else "")
    log.warning("%s", detail)
    return DownloadRefused(detail)


class Downloader:
    """Fetches images under a `DownloadPolicy`; one per process, closed at shutdown."""

    def __init__(
        self,
        policy: DownloadPolicy,
        gateway_http: httpx.AsyncClient,
        *,
        connect_timeout: float = 10.0,
        read_timeout: float = 30.0,
        resolver: Resolver | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self._policy = policy
        self._gateway_http = gateway_http
        self._timeout = httpx.Timeout(
            connect=connect_timeout, read=read_timeout, write=read_timeout, pool=connect_timeout
        )
        backend = _PinnedBackend(policy, resolver or SystemResolver())
        self._pinned_http = httpx.AsyncClient(
            transport=_PinnedTransport(backend, tls or httpx.create_ssl_context()),
            trust_env=False,  # no proxy or .netrc credentials from the environment
            cookies=CookieJar(DefaultCookiePolicy(allowed_domains=[])),  # keeps no cookies
        )

    async def aclose(self) -> None:
        await self._pinned_http.aclose()

    async def fetch_image(self, url: str, *, max_bytes: int | None = None) -> bytes:
        """The image's bytes, or DownloadRefused / GatewayTimeout / Unavailable."""
        limit = max_bytes or self._policy.max_bytes
        if url[:5].lower() == "data:":
            return _decode_data_url(url, limit)
        target = _parse(url)
        try:
            async with asyncio.timeout(self._policy.deadline):
                return await self._follow(target, limit)
        except TimeoutError:
            raise GatewayTimeout(
                f"image download from {target.host} passed the {self._policy.deadline:g} s deadline"
            ) from None

    async def _follow(self, url: httpx.URL, limit: int) -> bytes:
        for _ in range(self._policy.max_redirects + 1):
            host = url.host
            if url.scheme not in _DEFAULT_PORTS:
                raise _refuse(f"scheme {url.scheme!r} is not http(s)", host)
            if url.userinfo:
                raise _refuse("credentials in the URL", host)
            client = self._gateway_http if self._policy.is_trusted(url) else self._pinned_http
            try:
                async with client.stream(
                    "GET", url, headers=_HEADERS, timeout=self._timeout, follow_redirects=False
                ) as response:
                    if response.is_redirect:
                        url = _parse(response.headers["location"], base=url)
                        continue
                    if not response.is_success:
                        raise Unavailable(
                            f"image download from {host} answered {response.status_code}",
                            status=response.status_code,
                        )
                    return await _read_image(response, limit, host)
            except httpx.TimeoutException:
                raise GatewayTimeout(f"image download from {host} timed out") from None
            except httpx.RequestError as exc:
                raise Unavailable(f"image download from {host} failed: {type(exc).__name__}") from None
        raise _refuse(f"more than {self._policy.max_redirects} redirects", url.host)


def _parse(url: str, base: httpx.URL | None = None) -> httpx.URL:
    """A URL, or a redirect's Location resolved against the URL that sent it."""
    try:
        return base.join(url) if base is not None else httpx.URL(url)
    except httpx.InvalidURL:
        raise _refuse("not a valid URL", base.host if base is not None else None) from None


async def _read_image(response: httpx.Response, limit: int, host: str) -> bytes:
    """The body, refused as soon as it is too large or its first bytes are not an image."""
    media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type and not media_type.startswith("image/") and media_type not in _OCTET_STREAMS:
        raise _refuse(f"Content-Type {media_type[:60]!r} is not an image", host)
    length = response.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise _refuse(f"Content-Length {length} is over the {limit} byte limit", host)
    body = bytearray()
    sniffed = False
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > limit:
            raise _refuse(f"body is over the {limit} byte limit", host)
        if not sniffed and len(body) >= _SNIFF_BYTES:
            _check_signature(bytes(body[:_SNIFF_BYTES]), host)
            sniffed = True
    if not sniffed:
        _check_signature(bytes(body), host)
    return bytes(body)


def _decode_data_url(url: str, limit: int) -> bytes:
    header, _, payload = url.partition(",")
    if not header.lower().startswith("data:image/") or not header.lower().endswith(";base64"):
        raise _refuse("data URL is not a base64 image", None)
    if len(payload) * 3 // 4 > limit + 3:  # refuse before decoding a huge string
        raise _refuse(f"data URL is over the {limit} byte limit", None)
    try:
        data = base64.b64decode(payload)
    except binascii.Error:
        raise _refuse("data URL is not valid base64", None) from None
    if len(data) > limit:
        raise _refuse(f"data URL is over the {limit} byte limit", None)
    _check_signature(data, None)
    return data


_SIGNATURES = (
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",  # JPEG
    b"GIF87a",
    b"GIF89a",
    b"II*\x00",  # TIFF, little-endian
    b"MM\x00*",  # TIFF, big-endian
)
_BMP_INFO_SIZES = frozenset({12, 40, 52, 56, 64, 108, 124})  # "BM" alone is too common in text


def _check_signature(head: bytes, host: str | None) -> None:
    """PNG, JPEG, GIF, TIFF, WEBP, BMP or AVIF by their first bytes: what Pillow decodes later."""
    if not (
        head.startswith(_SIGNATURES)
        or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")
        or (head[:2] == b"BM" and int.from_bytes(head[14:18], "little") in _BMP_INFO_SIZES)
        or (head[4:8] == b"ftyp" and head[8:12] in (b"avif", b"avis"))
    ):
        raise _refuse("the body is not an image", host)


# --- the pinned transport ----------------------------------------------------------------


class _PinnedBackend(httpcore.AsyncNetworkBackend):
    """Resolves, checks and connects in one step, so the checked address is the one used."""

    def __init__(self, policy: DownloadPolicy, resolver: Resolver) -> None:
        self._policy = policy
        self._resolver = resolver
        self._tcp = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):  # the lookup counts against the connect timeout
                addresses = await self._checked_addresses(host, port)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from None
        failure: Exception | None = None
        for address in addresses:  # in the resolver's order, like a plain connect
            try:
                return await self._tcp.connect_tcp(
                    str(address), port, timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None  # addresses is never empty
        raise failure

    async def _checked_addresses(self, host: str, port: int) -> list[IPAddress]:
        literal = parse_host_literal(host)
        if literal is not None:
            addresses = [literal]
        else:
            try:
                addresses = await self._resolver.resolve(host, port)
            except OSError as exc:
                raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from None
            if not addresses:
                raise httpcore.ConnectError(f"{host} has no address")
        if self._policy.is_allowed_host(host):
            return addresses
        # One internal address refuses the host: which one a connect picks is not ours to say.
        for address in addresses:
            if not is_public_address(address):
                raise _refuse(f"resolves to non-public address {address}", host)
        return addresses

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not for image downloads")

    async def sleep(self, seconds: float) -> None:
        await self._tcp.sleep(seconds)


class _PinnedTransport(httpx.AsyncBaseTransport):
    """httpx over an httpcore pool with `_PinnedBackend`, as `httpx.AsyncHTTPTransport` maps it."""

    def __init__(self, backend: _PinnedBackend, tls: ssl.SSLContext) -> None:
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=tls,
            max_connections=20,
            max_keepalive_connections=10,
            keepalive_expiry=5.0,
            network_backend=backend,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _as_httpx_errors():
            response = await self._pool.handle_async_request(core_request)
        assert isinstance(response.stream, AsyncIterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseBody(response.stream),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()


class _ResponseBody(httpx.AsyncByteStream):
    def __init__(self, stream: AsyncIterable[bytes]) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx_errors():
            async for part in self._stream:
                yield part

    async def aclose(self) -> None:
        if hasattr(self._stream, "aclose"):
            await self._stream.aclose()


_HTTPX_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
)


@contextmanager
def _as_httpx_errors() -> Iterator[None]:
    """httpcore's errors as httpx's (the table httpx's own transport uses), for one except clause."""
    try:
        yield
    except Exception as exc:
        for core_error, httpx_error in _HTTPX_ERRORS:
            if isinstance(exc, core_error):
                raise httpx_error(str(exc)) from exc
        raise

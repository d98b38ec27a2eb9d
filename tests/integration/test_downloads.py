"""The download policy against real sockets on loopback.

Every server here listens on 127.0.0.1, i.e. is "internal": it is reachable only when its
origin is the trusted gateway or its name is in `allowed_hosts`. Fake resolvers give the
servers names (`cdn.test`, `images.example`) that no real DNS knows, so a fetch that succeeds
under such a name also proves the socket went to the address our resolver returned.
"""

from __future__ import annotations

import asyncio
import base64
import io
import logging
import re
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from ipaddress import ip_address
from pathlib import Path

import httpx
import pytest
from aiohttp import web
from PIL import Image

from bot.errors import DownloadRefused, GatewayTimeout, Unavailable
from bot.gateway.addresses import IPAddress
from bot.gateway.downloads import Downloader, DownloadPolicy, Resolver
from tests.fakes.tls import self_signed, serving


def make_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (2, 2), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


PNG = make_png()


@dataclass
class Server:
    port: int
    hits: list[str] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    @property
    def origin(self) -> tuple[str, str, int]:
        return ("http", "127.0.0.1", self.port)


def build_app(server: Server) -> web.Application:
    async def record(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        server.hits.append(request.path)
        server.headers.append(dict(request.headers))
        return await handler(request)

    async def png(_: web.Request) -> web.Response:
        return web.Response(body=PNG, content_type="image/png")

    async def octet(_: web.Request) -> web.Response:
        return web.Response(body=PNG, content_type="application/octet-stream")

    async def html(_: web.Request) -> web.Response:
        return web.Response(text="<html><body>admin panel</body></html>", content_type="text/html")

    async def text_as_png(_: web.Request) -> web.Response:
        return web.Response(body=b'{"secret": "internal json, not a picture"}', content_type="image/png")

    async def big(_: web.Request) -> web.Response:
        return web.Response(body=PNG + b"\0" * 5000, content_type="image/png")

    async def big_stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "image/png"})
        response.enable_chunked_encoding()  # no Content-Length: only the streaming cap can stop it
        await response.prepare(request)
        await response.write(PNG)
        for _ in range(100):
            await response.write(b"\0" * 1000)
        await response.write_eof()
        return response

    async def drip(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "image/png"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for byte in PNG:  # well inside any read timeout, far too slow for the deadline
            await response.write(bytes([byte]))
            await asyncio.sleep(2)
        return response

    async def missing(_: web.Request) -> web.Response:
        return web.Response(status=404, text="not found")

    async def redirect(request: web.Request) -> web.Response:
        left = int(request.match_info["n"])
        location = "/png" if left <= 1 else f"/redirect/{left - 1}"  # relative, as servers do
        raise web.HTTPFound(location)

    async def redirect_to(request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect(request.query["url"])

    app = web.Application(middlewares=[web.middleware(record)])
    app.router.add_get("/png", png)
    app.router.add_get("/octet", octet)
    app.router.add_get("/html", html)
    app.router.add_get("/text-as-png", text_as_png)
    app.router.add_get("/big", big)
    app.router.add_get("/big-stream", big_stream)
    app.router.add_get("/drip", drip)
    app.router.add_get("/missing", missing)
    app.router.add_get("/redirect/{n}", redirect)
    app.router.add_get("/to", redirect_to)
    return app


def listening_socket() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


@pytest.fixture
async def servers() -> AsyncIterator[Callable[[], Awaitable[Server]]]:
    """Starts aiohttp servers on free loopback ports; all stopped at the end."""
    runners: list[web.AppRunner] = []

    async def start() -> Server:
        sock = listening_socket()
        server = Server(port=sock.getsockname()[1])
        runner = web.AppRunner(build_app(server), handler_cancellation=True)
        await runner.setup()
        runners.append(runner)
        await web.SockSite(runner, sock).start()
        return server

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
async def internal(servers: Callable[[], Awaitable[Server]]) -> Server:
    return await servers()


@pytest.fixture
async def raw_server() -> AsyncIterator[Callable[[bytes], Awaitable[int]]]:
    """A server that answers every request with the given bytes: for headers aiohttp always adds."""
    started: list[asyncio.Server] = []

    async def start(reply: bytes) -> int:
        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(reply)
            await writer.drain()
            writer.close()
            await writer.wait_closed()

        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        started.append(server)
        return int(server.sockets[0].getsockname()[1])

    yield start
    for server in started:
        server.close()
        await server.wait_closed()


@dataclass
class FakeResolver:
    """Names only this test knows; records every lookup."""

    table: dict[str, list[str]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        self.calls.append(host)
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [ip_address(a) for a in self.table[host]]


class NoLookups:
    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        raise AssertionError(f"{host} must be judged as an address, not looked up")


class Downloaders:
    """Makes Downloaders over a gateway client whose requests are recorded in `sent`."""

    def __init__(self, stack: AsyncExitStack) -> None:
        self.sent: list[httpx.Request] = []
        self._stack = stack

    async def _record(self, request: httpx.Request) -> None:
        self.sent.append(request)

    async def make(
        self,
        *,
        trusted: Iterable[tuple[str, str, int]] = (),
        allowed_hosts: Iterable[str] = (),
        resolver: Resolver | None = None,
        deadline: float = 10.0,
        max_bytes: int = 1024 * 1024,
    ) -> Downloader:
        gateway_http = httpx.AsyncClient(event_hooks={"request": [self._record]})
        self._stack.push_async_callback(gateway_http.aclose)
        policy = DownloadPolicy(
            trusted_origins=frozenset(trusted),
            allowed_hosts=frozenset(allowed_hosts),
            deadline=deadline,
            max_bytes=max_bytes,
        )
        downloader = Downloader(
            policy, gateway_http, connect_timeout=2.0, read_timeout=5.0, resolver=resolver
        )
        self._stack.push_async_callback(downloader.aclose)
        return downloader


@pytest.fixture
async def downloaders() -> AsyncIterator[Downloaders]:
    async with AsyncExitStack() as stack:
        yield Downloaders(stack)


# --- where images may come from ---------------------------------------------------------


async def test_an_internal_server_is_refused(internal: Server, downloaders: Downloaders) -> None:
    downloader = await downloaders.make()
    with pytest.raises(DownloadRefused, match=re.escape("non-public address 127.0.0.1")):
        await downloader.fetch_image(internal.url("/png"))
    assert internal.hits == []


async def test_the_trusted_gateway_origin_is_fetched_with_the_gateway_client(
    internal: Server, downloaders: Downloaders
) -> None:
    downloader = await downloaders.make(trusted=[internal.origin])
    assert await downloader.fetch_image(internal.url("/png")) == PNG
    assert [str(r.url) for r in downloaders.sent] == [internal.url("/png")]
    assert "authorization" not in {k.lower() for k in internal.headers[0]}


async def test_an_allowed_host_is_fetched_even_when_internal(
    internal: Server, downloaders: Downloaders
) -> None:
    resolver = FakeResolver({"cdn.test": ["127.0.0.1"]})
    downloader = await downloaders.make(allowed_hosts=["CDN.test"], resolver=resolver)
    assert await downloader.fetch_image(internal.url("/png", host="cdn.test")) == PNG
    # One lookup, ours: the system resolver has never heard of cdn.test, so the socket was
    # opened to the address we checked, not to a second answer.
    assert resolver.calls == ["cdn.test"]
    assert downloaders.sent == []


async def test_an_allowed_ip_literal_host(internal: Server, downloaders: Downloaders) -> None:
    downloader = await downloaders.make(allowed_hosts=["127.0.0.1"], resolver=NoLookups())
    assert await downloader.fetch_image(internal.url("/png")) == PNG


async def test_a_name_resolving_to_loopback_is_refused(internal: Server, downloaders: Downloaders) -> None:
    resolver = FakeResolver({"images.example": ["127.0.0.1"]})
    downloader = await downloaders.make(resolver=resolver)
    with pytest.raises(DownloadRefused, match=re.escape("images.example")):
        await downloader.fetch_image(internal.url("/png", host="images.example"))
    assert internal.hits == []


async def test_one_internal_address_among_public_ones_refuses_the_host(
    internal: Server, downloaders: Downloaders
) -> None:
    resolver = FakeResolver({"images.example": ["93.184.215.14", "127.0.0.1"]})
    downloader = await downloaders.make(resolver=resolver)
    with pytest.raises(DownloadRefused, match=re.escape("non-public address 127.0.0.1")):
        await downloader.fetch_image(internal.url("/png", host="images.example"))
    assert internal.hits == []


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("0x7f.1", "non-public address 127.0.0.1"),
        ("2130706433", "non-public address 127.0.0.1"),
        ("127.1", "non-public address 127.0.0.1"),
        ("0x7f000001", "non-public address 127.0.0.1"),
        ("[::ffff:127.0.0.1]", "non-public address ::ffff:7f00:1"),
        ("[::ffff:7f00:1]", "non-public address ::ffff:7f00:1"),
        ("[::1]", "non-public address ::1"),
        ("0.0.0.0", "non-public address 0.0.0.0"),
        ("0177.0.0.1", "not a valid URL"),  # httpx itself rejects leading zeros
    ],
)
async def test_odd_ip_literals_are_judged_without_a_lookup(
    host: str, reason: str, internal: Server, downloaders: Downloaders
) -> None:
    downloader = await downloaders.make(resolver=NoLookups())
    with pytest.raises(DownloadRefused, match=re.escape(reason)):
        await downloader.fetch_image(f"http://{host}:{internal.port}/png")
    assert internal.hits == []


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://127.0.0.1/x.png",
        "gopher://127.0.0.1:6379/_INFO",
        "javascript:alert(1)",
        "data:text/html;base64,PGgxPmhpPC9oMT4=",
        "not a url at all",
    ],
)
async def test_other_schemes_are_refused(url: str, downloaders: Downloaders) -> None:
    downloader = await downloaders.make(allowed_hosts=["127.0.0.1"], resolver=NoLookups())
    with pytest.raises(DownloadRefused):
        await downloader.fetch_image(url)


async def test_userinfo_is_refused_even_for_the_gateway(internal: Server, downloaders: Downloaders) -> None:
    downloader = await downloaders.make(trusted=[internal.origin], allowed_hosts=["127.0.0.1"])
    with pytest.raises(DownloadRefused, match="credentials"):
        await downloader.fetch_image(f"http://user:pass@127.0.0.1:{internal.port}/png")
    assert internal.hits == []


async def test_refusals_name_the_host_but_never_the_url(
    internal: Server, downloaders: Downloaders, caplog: pytest.LogCaptureFixture
) -> None:
    resolver = FakeResolver({"images.example": ["10.0.0.7"]})
    downloader = await downloaders.make(resolver=resolver)
    with caplog.at_level(logging.INFO, logger="bot.gateway.downloads"), pytest.raises(DownloadRefused) as err:
        await downloader.fetch_image("https://images.example/a/b.png?X-Amz-Signature=SECRET123")
    assert "images.example" in err.value.detail
    assert "SECRET123" not in err.value.detail
    assert "SECRET123" not in str(err.value) + err.value.user_message
    assert len(caplog.records) == 1
    assert "SECRET123" not in caplog.text
    assert "images.example" in caplog.text


# --- redirects --------------------------------------------------------------------------


async def test_a_redirect_to_an_internal_address_is_refused(
    servers: Callable[[], Awaitable[Server]], downloaders: Downloaders
) -> None:
    gateway, other = await servers(), await servers()
    downloader = await downloaders.make(trusted=[gateway.origin], resolver=NoLookups())
    with pytest.raises(DownloadRefused, match=re.escape("non-public address 127.0.0.1")):
        await downloader.fetch_image(gateway.url(f"/to?url={other.url('/png')}"))
    assert gateway.hits == ["/to"]
    assert other.hits == []


async def test_an_allowed_host_redirecting_to_an_internal_ip_is_refused(
    internal: Server, downloaders: Downloaders
) -> None:
    resolver = FakeResolver({"cdn.test": ["127.0.0.1"]})
    downloader = await downloaders.make(allowed_hosts=["cdn.test"], resolver=resolver)
    with pytest.raises(DownloadRefused, match=re.escape("0x7f.1")):
        await downloader.fetch_image(
            internal.url(f"/to?url=http://0x7f.1:{internal.port}/png", host="cdn.test")
        )
    assert internal.hits == ["/to"]


async def test_a_redirect_to_another_scheme_is_refused(internal: Server, downloaders: Downloaders) -> None:
    downloader = await downloaders.make(trusted=[internal.origin])
    with pytest.raises(DownloadRefused, match="scheme 'file'"):
        await downloader.fetch_image(internal.url("/to?url=file:///etc/passwd"))


async def test_a_long_redirect_chain_stops_after_max_redirects(
    internal: Server, downloaders: Downloaders
) -> None:
    resolver = FakeResolver({"cdn.test": ["127.0.0.1"]})
    downloader = await downloaders.make(allowed_hosts=["cdn.test"], resolver=resolver)
    with pytest.raises(DownloadRefused, match="more than 3 redirects"):
        await downloader.fetch_image(internal.url("/redirect/30", host="cdn.test"))
    assert internal.hits == ["/redirect/30", "/redirect/29", "/redirect/28", "/redirect/27"]


async def test_three_redirects_across_trusted_and_allowed_hosts_work(
    servers: Callable[[], Awaitable[Server]], downloaders: Downloaders
) -> None:
    gateway, cdn = await servers(), await servers()
    resolver = FakeResolver({"cdn.test": ["127.0.0.1"]})
    downloader = await downloaders.make(
        trusted=[gateway.origin], allowed_hosts=["cdn.test"], resolver=resolver
    )
    start = gateway.url(f"/to?url={cdn.url('/redirect/2', host='cdn.test')}")
    assert await downloader.fetch_image(start) == PNG
    assert gateway.hits == ["/to"]
    assert cdn.hits == ["/redirect/2", "/redirect/1", "/png"]


# --- TLS to a pinned address ------------------------------------------------------------


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate and key for cdn.test."""
    return self_signed(tmp_path, "cdn.test")


@pytest.fixture
async def tls_server(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Server, list[str]]]:
    """An https server for cdn.test whose certificate httpx trusts via SSL_CERT_FILE; records SNI."""
    cert, key = certificate
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # httpx's default context trusts it
    server_names: list[str] = []
    context = serving(cert, key)
    context.sni_callback = lambda _sock, name, _ctx: server_names.append(name or "")
    sock = listening_socket()
    server = Server(port=sock.getsockname()[1])
    runner = web.AppRunner(build_app(server))
    await runner.setup()
    await web.SockSite(runner, sock, ssl_context=context).start()
    yield server, server_names
    await runner.cleanup()


async def test_tls_verifies_the_url_host_while_connecting_to_the_checked_address(
    tls_server: tuple[Server, list[str]], downloaders: Downloaders
) -> None:
    server, server_names = tls_server
    resolver = FakeResolver({"cdn.test": ["127.0.0.1"]})
    downloader = await downloaders.make(allowed_hosts=["cdn.test"], resolver=resolver)
    assert await downloader.fetch_image(f"https://cdn.test:{server.port}/png") == PNG
    assert server_names == ["cdn.test"]  # SNI names the URL's host, not 127.0.0.1


async def test_tls_refuses_a_certificate_for_another_name(
    tls_server: tuple[Server, list[str]], downloaders: Downloaders
) -> None:
    server, _ = tls_server
    resolver = FakeResolver({"other.test": ["127.0.0.1"]})
    downloader = await downloaders.make(allowed_hosts=["other.test"], resolver=resolver)
    with pytest.raises(Unavailable, match="ConnectError"):
        await downloader.fetch_image(f"https://other.test:{server.port}/png")
    assert server.hits == []


# --- what the body must be ---------------------------------------------------------------


@pytest.fixture
async def trusting(internal: Server, downloaders: Downloaders) -> Downloader:
    """Trusts the internal server, so these tests are only about the body."""
    return await downloaders.make(trusted=[internal.origin], max_bytes=4000)


async def test_octet_stream_with_png_bytes_is_accepted(internal: Server, trusting: Downloader) -> None:
    assert await trusting.fetch_image(internal.url("/octet")) == PNG


async def test_no_content_type_with_png_bytes_is_accepted(
    raw_server: Callable[[bytes], Awaitable[int]], downloaders: Downloaders
) -> None:
    reply = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(PNG) + PNG
    port = await raw_server(reply)
    downloader = await downloaders.make(allowed_hosts=["127.0.0.1"])
    assert await downloader.fetch_image(f"http://127.0.0.1:{port}/image") == PNG


async def test_html_is_refused(internal: Server, trusting: Downloader) -> None:
    with pytest.raises(DownloadRefused, match="text/html"):
        await trusting.fetch_image(internal.url("/html"))


async def test_text_labelled_as_png_is_refused(internal: Server, trusting: Downloader) -> None:
    with pytest.raises(DownloadRefused, match="not an image"):
        await trusting.fetch_image(internal.url("/text-as-png"))


async def test_a_large_content_length_is_refused_before_the_body(
    internal: Server, trusting: Downloader
) -> None:
    with pytest.raises(DownloadRefused, match="Content-Length"):
        await trusting.fetch_image(internal.url("/big"))


async def test_a_large_streamed_body_is_refused_while_streaming(
    internal: Server, trusting: Downloader
) -> None:
    with pytest.raises(DownloadRefused, match="body is over the 4000 byte limit"):
        await trusting.fetch_image(internal.url("/big-stream"))


async def test_the_per_call_limit_wins(internal: Server, trusting: Downloader) -> None:
    with pytest.raises(DownloadRefused, match="over the 50 byte limit"):
        await trusting.fetch_image(internal.url("/png"), max_bytes=50)


async def test_an_http_error_is_unavailable(internal: Server, trusting: Downloader) -> None:
    with pytest.raises(Unavailable) as err:
        await trusting.fetch_image(internal.url("/missing"))
    assert err.value.status == 404


async def test_a_closed_port_is_unavailable(downloaders: Downloaders) -> None:
    sock = listening_socket()
    port = sock.getsockname()[1]
    sock.close()
    downloader = await downloaders.make(allowed_hosts=["127.0.0.1"])
    with pytest.raises(Unavailable, match="ConnectError"):
        await downloader.fetch_image(f"http://127.0.0.1:{port}/png")


async def test_a_dripping_server_is_cut_off_by_the_deadline(
    internal: Server, downloaders: Downloaders
) -> None:
    downloader = await downloaders.make(trusted=[internal.origin], deadline=1.5)
    started = time.monotonic()
    with pytest.raises(GatewayTimeout, match="deadline"):
        await downloader.fetch_image(internal.url("/drip"))
    assert time.monotonic() - started < 3


async def test_the_deadline_also_covers_the_pinned_client(internal: Server, downloaders: Downloaders) -> None:
    downloader = await downloaders.make(allowed_hosts=["127.0.0.1"], deadline=1.5)
    with pytest.raises(GatewayTimeout, match="deadline"):
        await downloader.fetch_image(internal.url("/drip"))


# --- data URLs ---------------------------------------------------------------------------


async def test_a_data_url_image_is_decoded(downloaders: Downloaders) -> None:
    downloader = await downloaders.make(resolver=NoLookups())
    url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert await downloader.fetch_image(url) == PNG


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (
            "data:image/png;base64," + base64.b64encode(b"<html>hi there, not an image</html>").decode(),
            "not an image",
        ),
        ("data:image/png;base64," + base64.b64encode(PNG + b"\0" * 200).decode(), "limit"),
        ("data:image/png;base64,AAA", "not valid base64"),
        ("data:image/png,rawbytes", "not a base64 image"),
    ],
)
async def test_bad_data_urls_are_refused(url: str, reason: str, downloaders: Downloaders) -> None:
    downloader = await downloaders.make(resolver=NoLookups())
    with pytest.raises(DownloadRefused, match=re.escape(reason)):
        await downloader.fetch_image(url, max_bytes=len(PNG) + 10)


# --- the policy value ---------------------------------------------------------------------


def test_for_gateway_trusts_the_base_url_origin() -> None:
    policy = DownloadPolicy.for_gateway(
        "https://API.wenwen-ai.com", allowed_hosts=["Images.Corp.", " ", "cdn.test"], deadline=5
    )
    assert policy.trusted_origins == frozenset({("https", "api.wenwen-ai.com", 443)})
    assert policy.is_trusted(httpx.URL("https://api.wenwen-ai.com:443/mj/image/1.png"))
    assert not policy.is_trusted(httpx.URL("http://api.wenwen-ai.com/mj/image/1.png"))
    assert not policy.is_trusted(httpx.URL("https://api.wenwen-ai.com:8443/x.png"))
    assert policy.allowed_hosts == frozenset({"images.corp", "cdn.test"})
    assert policy.is_allowed_host("IMAGES.corp")
    assert not policy.is_allowed_host("evil.images.corp")
    assert policy.deadline == 5

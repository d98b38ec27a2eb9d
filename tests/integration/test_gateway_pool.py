"""The gateway connection pool: waiting for a connection is ours, not the gateway's slowness.

Every test runs over both transports `bot.gateway.transport` builds: aiohttp's pool (the
default) and httpx's own (HTTP/2, here spoken as HTTP/1.1 to the simulator).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable

import pytest
from pydantic import SecretStr

from bot import errors
from bot.gateway.client import GatewayClient, Outcome, Timeouts
from bot.gateway.downloads import Downloader, DownloadPolicy
from bot.gateway.transport import gateway_client
from simulator import Fault, Simulator

KEY = "sim-pool-key"
ASK = [{"role": "user", "content": "hello"}]
Make = Callable[..., GatewayClient]


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    simulator = Simulator(api_key=KEY, chunk_delay=0.0)
    await simulator.start()
    simulator.add_fault(Fault(route="/v1/chat/completions", kind="slow_first_byte", delay=0.6, times=None))
    yield simulator
    await simulator.stop()


@pytest.fixture(params=["aiohttp", "httpx"])
def http2(request: pytest.FixtureRequest) -> bool:
    """False: the default transport (aiohttp); True: httpx's own, as GATEWAY_HTTP2 picks it."""
    return bool(request.param == "httpx")


@pytest.fixture
async def outcomes() -> list[Outcome]:
    return []


@pytest.fixture
async def one_connection(sim: Simulator, outcomes: list[Outcome], http2: bool) -> AsyncIterator[Make]:
    http = gateway_client(max_connections=1, keepalive_connections=1, http2=http2)
    downloads = Downloader(DownloadPolicy.for_gateway(sim.base_url), http)

    def make(*, chat: float, pool: float) -> GatewayClient:
        return GatewayClient(
            http,
            sim.base_url,
            SecretStr(KEY),
            Timeouts(chat=chat, pool=pool),
            downloads=downloads,
            observe=lambda _path, outcome, _seconds: outcomes.append(outcome),
        )

    yield make
    await downloads.aclose()
    await http.aclose()


@pytest.mark.parametrize("streamed", [False, True])
async def test_a_request_waiting_for_a_connection_is_not_timed_out_as_slow(
    one_connection: Make, streamed: bool
) -> None:
    # Each answer takes 0.6 s; the second request waits ~0.6 s for the only connection, so it
    # finishes after 1.2 s, well past the 1 s read timeout, and still succeeds.
    gateway = one_connection(chat=1.0, pool=5.0)

    async def ask() -> str:
        on_text = (lambda _text: asyncio.sleep(0)) if streamed else None
        return (await gateway.chat("gpt-4o-mini", ASK, on_text=on_text)).text

    loop = asyncio.get_running_loop()
    started = loop.time()
    answers = await asyncio.gather(ask(), ask())
    assert answers == ["Echo: hello", "Echo: hello"]
    assert loop.time() - started >= 1.2


@pytest.mark.parametrize("streamed", [False, True])
async def test_no_free_connection_in_time_is_busy_not_a_gateway_timeout(
    one_connection: Make, outcomes: list[Outcome], streamed: bool
) -> None:
    gateway = one_connection(chat=5.0, pool=0.1)
    on_text = (lambda _text: asyncio.sleep(0)) if streamed else None
    results = await asyncio.gather(
        gateway.chat("gpt-4o-mini", ASK, on_text=on_text),
        gateway.chat("gpt-4o-mini", ASK, on_text=on_text),
        return_exceptions=True,
    )
    busy = [r for r in results if isinstance(r, BaseException)]
    assert len(busy) == 1 and type(busy[0]) is errors.Busy
    assert "a lot of people" in busy[0].user_message
    assert sorted(map(str, outcomes)) == ["200", "busy"]


async def test_streamed_answers_reuse_their_connection(sim: Simulator, http2: bool) -> None:
    """A stream's connection goes back to the pool (closed with unread bytes, it would be dropped)."""
    async with gateway_client(max_connections=10, keepalive_connections=10, http2=http2) as http:
        downloads = Downloader(DownloadPolicy.for_gateway(sim.base_url), http)
        client = GatewayClient(http, sim.base_url, SecretStr(KEY), Timeouts(), downloads=downloads)

        async def ignore(_text: str) -> None:
            return None

        for n in range(3):
            result = await client.chat(
                "gpt-4o-mini", [{"role": "user", "content": f"hi {n}"}], on_text=ignore
            )
            assert result.complete
        await downloads.aclose()
    peers = {r.peer for r in sim.requests if r.path == "/v1/chat/completions"}
    assert len(peers) == 1, peers


async def test_a_refused_connection_is_unavailable_not_slow(http2: bool, outcomes: list[Outcome]) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"  # bound, not listening: refused
        async with gateway_client(max_connections=2, keepalive_connections=2, http2=http2) as http:
            downloads = Downloader(DownloadPolicy.for_gateway(url), http)
            client = GatewayClient(
                http,
                url,
                SecretStr(KEY),
                Timeouts(),
                downloads=downloads,
                observe=lambda _path, outcome, _seconds: outcomes.append(outcome),
            )
            for streamed in (False, True):
                on_text = (lambda _text: asyncio.sleep(0)) if streamed else None
                with pytest.raises(errors.Unavailable):
                    await client.chat("gpt-4o-mini", ASK, on_text=on_text)
            await downloads.aclose()
    assert outcomes == ["transport", "transport"]


@pytest.mark.parametrize("streamed", [False, True])
async def test_slots_come_back_after_errors_and_answers(
    one_connection: Make, sim: Simulator, streamed: bool
) -> None:
    """With one connection, ten calls in a row (errors among them) never wait for a lost slot:
    a slot not given back would make the fourth call Busy."""
    gateway = one_connection(chat=5.0, pool=0.5)
    sim.clear_faults()
    sim.add_fault(Fault(route="/v1/chat/completions", kind="status", status=500, times=2))
    sim.add_fault(Fault(route="/v1/chat/completions", kind="cut_stream", after_chunks=1, times=1))
    on_text = (lambda _text: asyncio.sleep(0)) if streamed else None
    outcomes = []
    for _ in range(10):
        try:
            outcomes.append((await gateway.chat("gpt-4o-mini", ASK, on_text=on_text)).text)
        except errors.GatewayError as exc:
            outcomes.append(type(exc).__name__)
    # Two 500s, one answer cut off when streamed (the text so far), then whole answers.
    assert outcomes[:2] == ["Unavailable", "Unavailable"]
    assert (outcomes[2] != "Echo: hello") is streamed
    assert outcomes[3:] == ["Echo: hello"] * 7

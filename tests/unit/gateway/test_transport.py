from __future__ import annotations

import pytest

from bot.gateway.transport import PooledTransport, gateway_client, uses_aiohttp


@pytest.mark.parametrize(
    ("setting", "url", "aiohttp"),
    [
        ("auto", "http://gateway:8787", True),  # plain HTTP: aiohttp's cheaper pool
        ("auto", "HTTP://Gateway", True),
        ("auto", "https://api.wenwen.example", False),  # TLS: httpx's, 4x less memory per connection
        ("aiohttp", "https://api.wenwen.example", True),
        ("httpx", "http://gateway:8787", False),
    ],
)
def test_the_transport_setting(setting: str, url: str, aiohttp: bool) -> None:
    assert uses_aiohttp(setting, url) is aiohttp


async def test_the_client_is_built_on_the_chosen_pool() -> None:
    pooled = gateway_client(max_connections=5, keepalive_connections=5, http2=False, aiohttp=True)
    own = gateway_client(max_connections=5, keepalive_connections=5, http2=False, aiohttp=False)
    http2 = gateway_client(max_connections=5, keepalive_connections=5, http2=True, aiohttp=True)
    try:
        assert isinstance(pooled._transport, PooledTransport)
        assert not isinstance(own._transport, PooledTransport)
        assert not isinstance(http2._transport, PooledTransport), "HTTP/2 is httpx's own"
    finally:
        for client in (pooled, own, http2):
            await client.aclose()

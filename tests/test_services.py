"""The fixtures for real servers talk to the real thing (tests/services.py)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import inspect, make_url, text

from storage.db import create_engine


async def test_redis_url_reaches_a_real_redis(redis_url: str, redis_prefix: str) -> None:
    import redis.asyncio as redis

    client = redis.Redis.from_url(redis_url)
    try:
        key = f"{redis_prefix}greeting"
        await client.set(key, "hello")
        assert await client.get(key) == b"hello"
        assert await client.expire(key, 30)
        assert 0 < await client.ttl(key) <= 30
        await client.set(f"{redis_prefix}brief", "gone soon", px=50)
        await asyncio.sleep(0.2)
        assert await client.get(f"{redis_prefix}brief") is None, "the server expired it"
    finally:
        await client.aclose()


@pytest.mark.postgres
async def test_each_test_gets_an_empty_postgres_database_of_its_own(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            name = await conn.scalar(text("SELECT current_database()"))
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
    finally:
        await engine.dispose()
    assert name == make_url(database_url).database
    assert tables == []

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from simulator import Simulator

from .util import AUTH, KEY


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    simulator = Simulator(
        api_key=KEY,
        mj_step_seconds=0.05,
        chunk_delay=0.001,
        image_px=64,
        max_body_mb=2,
    )
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()


@pytest.fixture
async def client(sim: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sim.base_url, headers=AUTH, timeout=10) as http:
        yield http


@pytest.fixture
async def anon(sim: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    """A client without any key."""
    async with httpx.AsyncClient(base_url=sim.base_url, timeout=10) as http:
        yield http

"""Shared end-to-end fixtures: the gateway simulator over real sockets."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.simulator import Simulator

SIM_KEY = "sim-key"


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    simulator = Simulator(api_key=SIM_KEY, mj_step_seconds=0.05, chunk_delay=0.0, image_px=64)
    await simulator.start()
    yield simulator
    await simulator.stop()

"""Shared end-to-end fixtures: the gateway simulator over real sockets."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from simulator import Simulator

SIM_KEY = "sim-key"


@pytest.fixture
async def sim(request: pytest.FixtureRequest) -> AsyncIterator[Simulator]:
    """The simulator; `@pytest.mark.sim(mj_step_seconds=…)` overrides its settings."""
    options = {"mj_step_seconds": 0.05, "chunk_delay": 0.0, "image_px": 64}
    marker = request.node.get_closest_marker("sim")
    if marker is not None:
        options.update(marker.kwargs)
    simulator = Simulator(api_key=SIM_KEY, **options)
    await simulator.start()
    yield simulator
    await simulator.stop()

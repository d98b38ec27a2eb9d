"""SIGTERM with slow pictures in flight: what fits in SHUTDOWN_GRACE finishes, the rest is answered
by the next start; newcomers wait at Telegram and are answered by it too."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.e2e.crashes import CrashWorld

GENERATIONS = "/v1/images/generations"


@pytest.mark.timeout(180)
async def test_a_graceful_stop_finishes_what_it_can_and_the_next_start_answers_the_rest(
    tmp_path: Path, database_url: str
) -> None:
    async with CrashWorld(tmp_path, database_url, chats=5) as world:
        world.slow_pictures(delay=1.5, times=3)  # these three fit in the grace
        world.slow_pictures(delay=60.0)  # these do not
        await world.start_bot(SHUTDOWN_GRACE="4")
        quick = [world.send(n, "image") for n in range(3)]
        await world.requests_reach(GENERATIONS, 3)
        slow = [world.send(n, "image") for n in (3, 4)]
        await world.requests_reach(GENERATIONS, 5)
        world.terminate()
        await asyncio.sleep(0.5)
        newcomer = world.send(0, "chat")  # arrives while the bot drains
        assert await world.exit_code() == 0
        finished_before_restart = {id(s): world.outcome(s) for s in quick + slow + [newcomer]}
        await world.settle()
        report = await world.verify()

    assert all(finished_before_restart[id(s)] == "answered" for s in quick), finished_before_restart
    assert finished_before_restart[id(slow[0])] is None, "cut off at the deadline, not answered wrongly"
    assert finished_before_restart[id(newcomer)] is None, "a draining bot takes no new work"
    assert [world.outcome(s) for s in slow] == ["interrupted", "interrupted"]
    assert world.outcome(newcomer) == "answered", "the next start answers what waited at Telegram"
    assert report.images_recorded == 3, "the three that finished were billed"
    assert report.open_jobs_left == report.reservations_left == report.unhandled_updates_left == 0

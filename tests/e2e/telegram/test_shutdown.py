"""SIGTERM with slow pictures in flight: what fits in SHUTDOWN_GRACE finishes, the rest is answered
by the next start; newcomers wait at Telegram and are answered by it too."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from simulator import Fault, Simulator
from tests.e2e.crashes import CrashWorld
from tests.e2e.telegram.conftest import BOT_NAME, RunBot
from tests.fakes.telegram_api import JSON, FakeTelegram

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


@pytest.mark.sim(mj_step_seconds=30)  # the task keeps running: the tracker waits with a timeout
@pytest.mark.parametrize("turns", [0, 1, 2, 3])
async def test_the_midjourney_tracker_stops_even_when_woken_as_it_is_cancelled(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, turns: int
) -> None:
    """A wake-up (a new task, a delivery) in the same moment shutdown cancels the tracker,
    `turns` loop turns apart: on Python 3.11 `asyncio.wait_for` returned the wake-up and lost
    the cancellation, and the tracker, once idle, waited for ever."""
    async with run_bot(mj_poll_interval=5.0) as app:
        tg.send_text(private, ann, "/imagine a slow fox")
        await tg.wait_for("sendMessage", lambda c: "⏳" in c.params["text"])
        await asyncio.sleep(0.5)  # polled once: the tracker waits 5 s (or a wake-up) for the next round
        [tracker] = [t for t in asyncio.all_tasks() if t.get_name() == "mj-tracker"]
        app.services.tracker.wake()
        for _ in range(turns):
            await asyncio.sleep(0)
        tracker.cancel()
        done, _ = await asyncio.wait([tracker], timeout=5)
        assert done, "the tracker is still running after being cancelled"


@pytest.mark.timeout(180)
async def test_a_chat_answer_cut_off_by_the_drain_deadline_is_answered_by_the_next_start(
    tmp_path: Path, database_url: str
) -> None:
    """A streamed answer still waiting for the gateway when the grace ends: its update is left
    unhandled, and the next start answers it (before, it was marked handled as it was cancelled,
    and the question went unanswered)."""
    async with CrashWorld(tmp_path, database_url, chats=1) as world:
        world.sim.add_fault(Fault(route="/v1/chat/completions", kind="slow_first_byte", delay=60, times=1))
        await world.start_bot(SHUTDOWN_GRACE="1")
        asked = world.send(0, "chat")
        await world.requests_reach("/v1/chat/completions", 1)
        world.terminate()
        assert await world.exit_code() == 0
        assert world.outcome(asked) is None, "cut off, not answered wrongly"
        await world.settle()
        report = await world.verify()
    assert world.outcome(asked) == "answered"
    assert report.chat_calls_recorded == 1
    assert report.reservations_left == report.unhandled_updates_left == 0


async def test_a_group_answer_cut_off_by_the_drain_deadline_says_so_and_the_next_start_answers(
    run_bot: RunBot, tg: FakeTelegram, sim: Simulator, ann: JSON, group: JSON
) -> None:
    """The partial answer in the group's message would read like the whole answer: it is
    marked as cut off (its buttons go), and the full answer comes from the next start."""
    sim.add_fault(Fault(route="/v1/chat/completions", kind="slow_stream", delay=0.3, times=1))
    pacing = {"stream_edit_interval": 0.05, "stream_group_first_delay": 0.05}
    async with run_bot(shutdown_grace=0.5, **pacing):
        tg.send_text(group, ann, f"@{BOT_NAME} [[long:600]] tell me a story")
        growing = await tg.wait_for("sendMessage", lambda c: c.params["text"].endswith("▌"))
    shown = tg.get_message(group["id"], growing.result["message_id"])
    assert shown is not None
    assert shown["text"].endswith("[interrupted by a restart: the full answer follows]"), shown["text"]
    assert shown["text"].startswith("Echo: tell me a story") and "▌" not in shown["text"]
    assert "reply_markup" not in shown, "no ⏹ on an answer that is not running"
    async with run_bot(**pacing):
        sent = await tg.wait_for(
            "sendMessage",
            lambda c: (
                c.params["text"].startswith("Echo:")
                and c.result["message_id"] != growing.result["message_id"]
            ),
        )
        final = sent
        if sent.params["text"].endswith("▌"):  # a busy machine: it grew in the new message first
            final = await tg.wait_for(
                "editMessageText",
                lambda c: (
                    c.params["message_id"] == sent.result["message_id"] and not c.params["text"].endswith("▌")
                ),
            )
    assert final.params["text"].startswith("Echo: tell me a story")
    assert "interrupted" not in final.params["text"]

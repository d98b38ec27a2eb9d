"""Nothing lost, nothing doubled: the real entry point killed with SIGKILL under load, then restarted.

bench/crash_rounds.py runs the same with 50 rounds and prints the counts.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator import Fault
from tests.e2e.crashes import CrashWorld

ROUNDS = 3


@pytest.mark.timeout(300)
async def test_kills_under_load_lose_nothing_and_double_nothing(tmp_path: Path, database_url: str) -> None:
    async with CrashWorld(tmp_path, database_url) as world:
        world.slow_pictures()
        for _ in range(ROUNDS):
            await world.crash_round()
        await world.wave()  # and one more wave for the instance that stays up
        await world.settle()
        report = await world.verify()
    shown = "\n".join(report.lines())
    # Every request got its result, or was told honestly that a restart cut it off.
    assert report.unanswered == [], shown
    assert report.answered + report.told_interrupted == report.requests, shown
    # Every Midjourney task the gateway accepted is stored and its grid delivered — once. A
    # kill between a send and its record could at worst repeat one delivery.
    assert report.mj_never_delivered == [], shown
    assert report.mj_delivered_once + report.mj_delivered_twice_or_more + report.mj_lost_before_stored == (
        report.mj_accepted
    ), shown
    assert report.mj_delivered_twice_or_more <= report.kills, shown
    # Every picture the gateway made is in the ledger, or its user was told it may have been charged.
    assert report.images_recorded <= report.images_by_gateway, shown
    assert report.images_by_gateway - report.images_recorded <= report.images_told_may_be_charged, shown
    # No leftovers hold anything: reservations, open jobs, unhandled updates.
    assert report.reservations_left == 0, shown
    assert report.open_jobs_left == 0, shown
    assert report.unhandled_updates_left == 0, shown
    assert report.integrity.startswith("ok"), shown


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("kind", "question", "gateway_calls"),
    [
        ("chat", "hello number 0", 1),
        # A turn that ran a tool is a job from its first round: it ends with the answer, so
        # the next start sends that answer and does not also call the turn interrupted.
        ("tool", "tool:show_usage what have we spent?", 2),
    ],
)
async def test_an_answer_stored_but_not_yet_sent_is_sent_after_a_kill_and_not_bought_twice(
    tmp_path: Path, database_url: str, kind: str, question: str, gateway_calls: int
) -> None:
    """Killed between writing the answer (with its usage) and sending it: the next start
    replays the question, finds the stored answer and sends that; the gateway is not asked again."""
    async with CrashWorld(tmp_path, database_url, chats=1) as world:
        await world.start_bot()
        world.tg.park_next("sendMessage")  # the final answer never reaches Telegram
        asked = world.send_text(0, kind, question)
        await world.until(lambda: "sendMessage" in world.tg.parked)
        await world.kill()
        await world.settle()
        report = await world.verify()
        replies = [str(r.get("text")) for r in world.replies(asked)]
    assert world.outcome(asked) == "answered"
    assert len(replies) == 1, replies
    assert report.told_interrupted == 0
    assert report.chat_calls_by_gateway == report.chat_calls_recorded == gateway_calls
    assert report.reservations_left == report.unhandled_updates_left == report.open_jobs_left == 0


@pytest.mark.timeout(120)
async def test_an_image_models_answer_stored_but_not_sent_is_sent_by_the_next_start(
    tmp_path: Path, database_url: str
) -> None:
    """An image model's answer is a durable job, as /image is: killed as its pictures are being
    sent, the next start sends the stored answer, words and pictures, without asking again."""
    async with CrashWorld(tmp_path, database_url, chats=1) as world:
        await world.start_bot(CHAT_MODEL="gpt-4o-image")
        world.tg.park_next("sendPhoto")
        asked = world.send_text(0, "image", "draw a cat")
        await world.until(lambda: "sendPhoto" in world.tg.parked)
        await world.kill()
        await world.settle()
        report = await world.verify()
        replies = world.replies(asked)
    assert [(bool(r.get("photo")), r.get("caption")) for r in replies] == [
        (True, "Generating image: a cat")
    ], "sent as the live turn sends it: one picture, the words its caption"
    assert report.told_interrupted == 0
    assert report.chat_calls_by_gateway == report.chat_calls_recorded == 1
    assert report.reservations_left == report.unhandled_updates_left == report.open_jobs_left == 0


@pytest.mark.timeout(150)
@pytest.mark.parametrize("stored", [False, True])
async def test_a_regenerate_press_cut_off_by_a_kill_is_finished_by_the_next_start(
    tmp_path: Path, database_url: str, stored: bool
) -> None:
    """🔄 takes the answer over (under a name derived from the press) before it streams. Killed
    mid-stream (`stored` False: nothing recorded) the replayed press finds the answer it took
    and asks again; killed after the new answer was recorded, it sends that one unpaid. Either
    way one new answer, buttons that still work, never "can no longer be changed"."""
    async with CrashWorld(tmp_path, database_url, chats=1) as world:
        tg = world.tg
        await world.start_bot()
        asked = world.send_text(0, "chat", "hello number 0")
        await world.until(lambda: world.outcome(asked) == "answered")
        [answer] = world.replies(asked)
        [[regenerate]] = answer["reply_markup"]["inline_keyboard"]
        if stored:
            tg.park_next("sendMessage")  # the new answer is recorded, its message never lands
        else:
            world.sim.add_fault(
                Fault(route="/v1/chat/completions", kind="slow_first_byte", delay=60, times=1)
            )
        tg.press_button(world.chats[0], world.users[0], answer["message_id"], regenerate["callback_data"])
        if stored:
            await world.until(lambda: "sendMessage" in tg.parked)
        else:
            await world.requests_reach("/v1/chat/completions", 2)
        await world.kill()
        await world.start_bot()
        await world.until(lambda: len(world.bot_texts(0)) == 2, within=60)
        await world.stop()
        report = await world.verify()
        texts = world.bot_texts(0)
    assert "Echo: hello number 0" in texts[1], texts
    # Killed mid-stream, the cut-off call is not billed by the simulator (nor recorded).
    assert report.chat_calls_by_gateway == report.chat_calls_recorded == 2, texts
    assert report.reservations_left == report.unhandled_updates_left == 0

"""The usage ledger against the simulator's own totals, and a restart that loses nothing."""

from __future__ import annotations

import re

import pytest

from bot.simulator import Simulator
from tests.e2e.images import make_image
from tests.e2e.telegram.conftest import BOT_NAME, RunBot
from tests.fakes.telegram_api import FakeTelegram


def all_time_line(text: str) -> str:
    return next(line for line in text.splitlines() if line.startswith("All time"))


def numbers(line: str) -> list[int]:
    return [int(n.replace(",", "")) for n in re.findall(r"\d[\d,]*", line)]


async def test_usage_equals_what_the_simulator_handed_out(
    run_bot: RunBot, tg: FakeTelegram, sim: Simulator
) -> None:
    ann = tg.user(id=1001, first_name="Ann", username="ann")
    bob = tg.user(id=1002, first_name="Bob", username="bob")
    group = tg.group_chat(id=-100400, title="Team")
    async with run_bot():
        tg.send_text(tg.private_chat(ann), ann, "this private chat must not count in the group")
        await tg.wait_for("sendMessage", count=1)
        private = sim.ledger.as_dict()  # everything so far belongs to the private chat
        tg.send_text(group, ann, f"@{BOT_NAME} hello everyone")
        await tg.wait_for("sendMessage", count=2)
        tg.send_text(group, bob, "/ask what is usage")
        await tg.wait_for("sendMessage", count=3)
        tg.send_photo(group, bob, make_image(), caption=f"@{BOT_NAME} make it pop")
        await tg.wait_for("sendPhoto", count=1)
        tg.send_text(group, ann, "/image a blue whale")
        await tg.wait_for("sendPhoto", count=2)
        tg.send_text(group, bob, "/imagine a harbour")
        await tg.wait_for("sendPhoto", count=3, timeout=15)
        tg.send_text(group, ann, "/usage")
        report = await tg.wait_for("sendMessage", lambda c: c.params["text"].startswith("📊"))
    text = report.params["text"]
    line = all_time_line(text)
    requests, tokens_in, tokens_out = numbers(line)[:3]
    everything = sim.ledger
    assert requests == sum(everything.requests.values()) - sum(private["requests"].values()), text
    assert tokens_in == everything.input_tokens - private["input_tokens"], text
    assert tokens_out == everything.output_tokens - private["output_tokens"], text
    assert f"{everything.images} images" in line, "one edit + one generation"
    assert f"{everything.mj_tasks} MJ tasks" in line
    assert "Top users:" in text and "ann" in text and "bob" in text
    assert "Today:" in text and "This month:" in text


@pytest.mark.sim(mj_step_seconds=0.6)
async def test_restart_keeps_ledger_and_resumes_unfinished_midjourney_task(
    run_bot: RunBot, tg: FakeTelegram, sim: Simulator
) -> None:
    ann = tg.user(id=1001, first_name="Ann", username="ann")
    chat = tg.private_chat(ann)
    async with run_bot():
        tg.send_text(chat, ann, "/imagine a slow sunrise")
        status = await tg.wait_for("sendMessage", lambda c: "Midjourney" in c.params["text"])
    assert tg.calls_of("sendPhoto") == [], "stopped before the task finished"
    [task_id] = list(sim.tasks)

    async with run_bot():
        grid = await tg.wait_for("sendPhoto", timeout=15)
        tg.send_text(chat, ann, "/usage")
        usage = await tg.wait_for("sendMessage", lambda c: c.params["text"].startswith("📊"))
    assert "slow sunrise" in grid.params["caption"]
    assert task_id in {r.path.split("/")[3] for r in sim.requests if r.path.endswith("/fetch")}
    finished = [
        c for c in tg.calls_of("editMessageText") if c.params["message_id"] == status.result["message_id"]
    ]
    assert finished and "done" in finished[-1].params["text"], "the original status message is updated"
    assert "1 MJ tasks" in all_time_line(usage.params["text"])
    assert sim.ledger.mj_tasks == 1, "resuming did not submit again"

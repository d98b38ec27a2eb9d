"""The usage ledger against the simulator's own totals, and a restart that loses nothing."""

from __future__ import annotations

import pytest

from simulator import Simulator
from tests.e2e.images import make_image
from tests.e2e.telegram.conftest import BOT_NAME, RunBot
from tests.e2e.usage_text import report_totals, section
from tests.fakes.telegram_api import JSON, Call, FakeTelegram


def is_report(call: Call) -> bool:
    # The report is HTML; the stored message's text is what the user reads.
    return call.ok and call.result["text"].startswith("📊")


async def test_usage_equals_what_the_simulator_handed_out(
    *, run_bot: RunBot, tg: FakeTelegram, ann: JSON, bob: JSON, private: JSON, group: JSON, sim: Simulator
) -> None:
    async with run_bot():
        tg.send_text(private, ann, "this private chat must not count in the group")
        await tg.wait_for("sendMessage", count=1)
        in_private = sim.ledger.as_dict()  # everything so far belongs to the private chat
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
        tg.send_text(group, ann, "/usage all")
        report = await tg.wait_for("sendMessage", is_report)
    text = report.result["text"]
    totals = report_totals(text)
    everything = sim.ledger
    assert totals.requests == sum(everything.requests.values()) - sum(in_private["requests"].values()), text
    assert totals.input_tokens == everything.input_tokens - in_private["input_tokens"], text
    assert totals.output_tokens == everything.output_tokens - in_private["output_tokens"], text
    assert totals.images == everything.images, "one edit + one generation"
    assert totals.mj_tasks == everything.mj_tasks
    users = "\n".join(section(text, "Top users"))
    assert "ann" in users and "bob" in users, text


@pytest.mark.sim(mj_step_seconds=0.6)
async def test_restart_keeps_ledger_and_resumes_unfinished_midjourney_task(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    async with run_bot():
        tg.send_text(private, ann, "/imagine a slow sunrise")
        status = await tg.wait_for("sendMessage", lambda c: "Midjourney" in c.params["text"])
    assert tg.calls_of("sendPhoto") == [], "stopped before the task finished"
    [task_id] = list(sim.tasks)

    async with run_bot():
        grid = await tg.wait_for("sendPhoto", timeout=15)
        tg.send_text(private, ann, "/usage all")
        usage = await tg.wait_for("sendMessage", is_report)
    assert "slow sunrise" in grid.params["caption"]
    assert task_id in {r.path.split("/")[3] for r in sim.requests if r.path.endswith("/fetch")}
    finished = [
        c for c in tg.calls_of("editMessageText") if c.params["message_id"] == status.result["message_id"]
    ]
    assert finished and "done" in finished[-1].params["text"], "the original status message is updated"
    assert report_totals(usage.result["text"]).mj_tasks == 1
    assert sim.ledger.mj_tasks == 1, "resuming did not submit again"

"""Midjourney on Telegram: /imagine progress, grid with buttons, actions, blend, refusals."""

from __future__ import annotations

import pytest

from simulator import Fault, Simulator
from tests.e2e.images import decode, make_image
from tests.e2e.telegram.conftest import RunBot
from tests.fakes.telegram_api import JSON, FakeTelegram


def mj_submits(sim: Simulator, kind: str) -> list:
    return [r for r in sim.requests if r.path == f"/mj/submit/{kind}"]


def button_texts(call) -> list[str]:
    return [b["text"] for row in call.params["reply_markup"]["inline_keyboard"] for b in row]


@pytest.mark.sim(mj_step_seconds=0.4)  # 0.8 s of "NN%": several polls see it, even on a busy machine
async def test_imagine_shows_progress_then_grid_with_buttons(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    async with run_bot():
        update = tg.send_text(private, ann, "/imagine a lighthouse at dawn --ar 16:9")
        grid = await tg.wait_for("sendPhoto", timeout=15)
    status = tg.calls_of("sendMessage")[0]
    assert "lighthouse" in status.params["text"] and "queued" in status.params["text"]
    edits = [
        c.params["text"]
        for c in tg.calls_of("editMessageText")
        if c.params["message_id"] == status.result["message_id"]
    ]
    assert any("%" in text for text in edits), f"progress shown: {edits}"
    assert all(c.ok for c in tg.calls_of("editMessageText")), "no 'message is not modified' errors"
    assert grid.params["reply_parameters"]["message_id"] == update["message"]["message_id"]
    assert button_texts(grid) == ["U1", "U2", "U3", "U4", "🔄", "V1", "V2", "V3", "V4", "🌱 Seed"]
    assert decode(grid.files["photo"]).size[0] > 0
    [submit] = mj_submits(sim, "imagine")
    assert submit.json["prompt"] == "a lighthouse at dawn --ar 16:9" and submit.json["mode"] == "RELAX"


@pytest.mark.sim(mj_step_seconds=0.5)
async def test_a_slow_status_message_is_not_posted_twice(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON
) -> None:
    async with run_bot():
        # A task in progress keeps the tracker polling every 50 ms, so it sees the second
        # task long before that task's handler learns the id of the status message it posted.
        tg.send_text(private, ann, "/imagine a busy quay")
        await tg.wait_for("editMessageText", lambda c: "quay" in c.params["text"])
        tg.slow_next("sendMessage", 2.5)
        tg.send_text(private, ann, "/imagine a slow harbour")
        await tg.wait_for("sendPhoto", count=2, timeout=15)
        done = await tg.wait_for(
            "editMessageText", lambda c: "harbour" in c.params["text"] and "done" in c.params["text"]
        )
    [status] = [c for c in tg.calls_of("sendMessage") if "harbour" in c.params["text"]]
    assert done.params["message_id"] == status.result["message_id"]


async def test_pressing_u1_submits_the_action_and_delivers_the_upscale(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    async with run_bot():
        tg.send_text(private, ann, "/imagine a red fox")
        grid = await tg.wait_for("sendPhoto", timeout=15)
        u1 = grid.params["reply_markup"]["inline_keyboard"][0][0]
        press = tg.press_button(private, ann, grid.result["message_id"], u1["callback_data"])
        upscale = await tg.wait_for("sendPhoto", count=2, timeout=15)
    [action] = mj_submits(sim, "action")
    [imagine] = [task for task in sim.tasks.values() if task.action == "IMAGINE"]
    assert action.json["customId"].startswith("MJ::JOB::upsample::1::")
    assert action.json["taskId"] == imagine.id, "the action names the grid's own task"
    [upscaled] = [task for task in sim.tasks.values() if task.action == "UPSCALE"]
    assert upscaled.parent_id == imagine.id and upscaled.index == 1
    labels = button_texts(upscale)
    assert "Vary (Strong)" in labels and "⬅️" in labels
    assert press["callback_query"]["id"] in tg.callback_answers, "the button press was acknowledged"


async def test_imagine_with_reference_photo_sends_base64(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    async with run_bot():
        tg.send_photo(
            private,
            ann,
            make_image("green", fmt="PNG"),
            caption="/imagine in this style, a castle",
        )
        await tg.wait_for("sendPhoto", timeout=15)
    [submit] = mj_submits(sim, "imagine")
    assert submit.json["prompt"] == "in this style, a castle"
    assert len(submit.json["base64Array"]) == 1
    assert str(submit.json["base64Array"][0]).startswith("data:image/png;base64,")


async def test_blend_album_with_dimensions(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    async with run_bot():
        tg.send_album(private, ann, [make_image("red"), make_image("blue")], caption="/blend portrait")
        await tg.wait_for("sendPhoto", timeout=15)
        tg.send_photo(private, ann, make_image(), caption="/blend")
        hint = await tg.wait_for("sendMessage", lambda c: "2 to 5 photos" in c.params["text"])
    [submit] = mj_submits(sim, "blend")
    assert submit.json["dimensions"] == "PORTRAIT"
    assert len(submit.json["base64Array"]) == 2
    assert "you sent 1" in hint.params["text"]


async def test_imagine_refusals_are_explained(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    async with run_bot():
        tg.send_text(private, ann, "/imagine")
        usage = await tg.wait_for("sendMessage", count=1)
        tg.send_text(private, ann, "/imagine something nsfw")
        banned = await tg.wait_for("sendMessage", lambda c: "banned" in c.params["text"])
        tg.send_text(private, ann, "/imagine a storm [[fail]]")
        failed = await tg.wait_for(
            "editMessageText", lambda c: "failed" in c.params["text"].lower(), timeout=15
        )
        sim.add_fault(Fault(route="/mj/submit/imagine", kind="mj_code", status=9, times=1))
        tg.send_text(private, ann, "/imagine a quiet lake")
        rejected = await tg.wait_for("sendMessage", lambda c: "refused the task" in c.params["text"])
    assert usage.params["text"].startswith("Usage: /imagine")
    assert "⚠️" in banned.params["text"]
    assert "failed" in failed.params["text"].lower()
    assert "⚠️" in rejected.params["text"]
    assert len(mj_submits(sim, "imagine")) == 3, "no call for the prompt-less /imagine"


async def test_busy_queue_is_retried_with_backoff(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    async with run_bot(mj_busy_wait=0.01):
        sim.add_fault(Fault(route="/mj/submit/imagine", kind="mj_code", status=23, times=1))
        tg.send_text(private, ann, "/imagine a busy harbour")
        await tg.wait_for("sendPhoto", timeout=15)
    assert len(mj_submits(sim, "imagine")) == 2


@pytest.mark.sim(mj_step_seconds=0.6)  # 3 s a task: surely running when the second request comes
async def test_a_chat_runs_at_most_mj_tasks_per_chat_at_once(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    async with run_bot(mj_tasks_per_chat=1):
        tg.send_text(private, ann, "/imagine a slow lighthouse")
        await tg.wait_for("sendMessage", lambda c: "Midjourney imagine" in c.params["text"])
        tg.send_text(private, ann, "/imagine a second one")
        refused = await tg.wait_for("sendMessage", lambda c: "Midjourney jobs running" in c.params["text"])
        await tg.wait_for("editMessageText", lambda c: "done" in c.params["text"], timeout=30)
        tg.send_text(private, ann, "/imagine a third, after the first finished")
        await tg.wait_for("sendPhoto", count=2, timeout=30)
    assert "already has 1 Midjourney jobs" in refused.params["text"]
    assert len(mj_submits(sim, "imagine")) == 2


async def test_simultaneous_imagines_cannot_pass_the_cap_together(
    run_bot: RunBot, tg: FakeTelegram, group: JSON, sim: Simulator
) -> None:
    users = [tg.user(id=3000 + n, first_name=f"U{n}", username=f"u{n}") for n in range(3)]
    # Slow submissions: all three requests are checked before any task is stored.
    sim.add_fault(Fault(route="/mj/submit/imagine", kind="slow_first_byte", delay=0.4, times=None))
    async with run_bot(mj_tasks_per_chat=1):
        for user in users:
            tg.send_text(group, user, f"/imagine a portrait of {user['first_name']}")
        await tg.wait_for("sendMessage", lambda c: "Midjourney jobs running" in c.params["text"], count=2)
        await tg.wait_for("sendPhoto", timeout=15)
    assert len(mj_submits(sim, "imagine")) == 1

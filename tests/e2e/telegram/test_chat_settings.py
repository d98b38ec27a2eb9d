"""Per-chat settings on Telegram (/model, /system, kept across restarts) and the MJ seed button."""

from __future__ import annotations

from simulator import Simulator
from simulator.midjourney import seed_of
from tests.e2e.gateway_log import chat_completion_bodies
from tests.e2e.telegram.conftest import RunBot
from tests.fakes.telegram_api import JSON, FakeTelegram

CLAUDE = "claude-3-5-sonnet-20241022"


def buttons(call) -> dict[str, str]:
    rows = call.params["reply_markup"]["inline_keyboard"]
    return {b["text"]: b["callback_data"] for row in rows for b in row}


async def test_model_lists_allowed_models_switches_by_button_and_survives_a_restart(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    async with run_bot():
        tg.send_text(private, ann, "/model")
        menu = await tg.wait_for("sendMessage", count=1)
        choices = buttons(menu)
        tg.press_button(private, ann, menu.result["message_id"], choices[CLAUDE])
        switched = await tg.wait_for("sendMessage", count=2)
    assert "uses gpt-4o-mini" in menu.params["text"]
    assert "✅ gpt-4o-mini" in choices
    assert CLAUDE in choices and "gpt-4o" in choices
    assert not any(name in choices for name in ("gpt-image-1", "dall-e-2", "text-embedding-3-small"))
    assert switched.params["text"] == f"🤖 This chat now uses {CLAUDE}."

    async with run_bot():  # a restart: the choice is in the database
        tg.send_text(private, ann, "hello again")
        await tg.wait_for("sendMessage", count=3)
        tg.send_text(private, ann, "/model gpt-4o")
        await tg.wait_for("sendMessage", count=4)
        tg.send_text(private, ann, "/model no-such-model")
        refused = await tg.wait_for("sendMessage", count=5)
        tg.send_text(private, ann, "and now?")
        await tg.wait_for("sendMessage", count=6)
    [claude_turn] = [r.json for r in sim.requests if r.path == "/v1/messages"]
    assert claude_turn["model"] == CLAUDE
    assert "not available" in refused.params["text"]
    last = chat_completion_bodies(sim)[-1]
    assert last["model"] == "gpt-4o"


async def test_system_prompt_is_set_shown_used_and_reset(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    async with run_bot():
        tg.send_text(private, ann, "/system You are a pirate. Answer like one.")
        saved = await tg.wait_for("sendMessage", count=1)
    async with run_bot():
        tg.send_text(private, ann, "/system")
        shown = await tg.wait_for("sendMessage", count=2)
        tg.send_text(private, ann, "hello")
        await tg.wait_for("sendMessage", count=3)
        tg.send_text(private, ann, "/system reset")
        await tg.wait_for("sendMessage", count=4)
        tg.send_text(private, ann, "hello again")
        await tg.wait_for("sendMessage", count=5)
    assert saved.params["text"] == "📝 System prompt saved."
    assert (
        "You are a pirate. Answer like one." in shown.params["text"] and "this chat's" in shown.params["text"]
    )
    pirate, default = chat_completion_bodies(sim)
    assert pirate["messages"][0] == {"role": "system", "content": "You are a pirate. Answer like one."}
    assert default["messages"][0]["content"].startswith("You are a helpful assistant")


async def test_seed_button_asks_the_gateway_for_the_seed(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    async with run_bot():
        tg.send_text(private, ann, "/imagine a quiet harbour")
        grid = await tg.wait_for("sendPhoto", timeout=15)
        tg.press_button(private, ann, grid.result["message_id"], buttons(grid)["🌱 Seed"])
        answer = await tg.wait_for("sendMessage", lambda c: "Seed" in c.params["text"])
    [task_id] = list(sim.tasks)
    [seed_request] = [r for r in sim.requests if r.path.endswith("/image-seed")]
    assert seed_request.path == f"/mj/task/{task_id}/image-seed"
    assert seed_of(sim.tasks[task_id]) in answer.params["text"]
    assert sim.ledger.mj_tasks == 1, "the seed is not a new task"

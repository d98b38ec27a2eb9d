"""Midjourney /describe and prompts asked for in the chat (Custom Zoom, remix), on Telegram."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from bot.app import App
from simulator import Fault, Simulator
from tests.e2e.images import make_image
from tests.e2e.telegram.conftest import RunBot
from tests.fakes.telegram_api import JSON, FakeTelegram


def submits(sim: Simulator, kind: str) -> list[Any]:
    return [r for r in sim.requests if r.path == f"/mj/submit/{kind}"]


def buttons_of(call: Any) -> list[dict[str, str]]:
    return [b for row in call.params["reply_markup"]["inline_keyboard"] for b in row]


async def asked_for_prompt(tg: FakeTelegram) -> Any:
    """The question for a prompt, once the bot has stored which message it is.

    The status line turns to "waiting" right after that: a reply sent before it (no person
    answers within those milliseconds, a test does) would be taken for a plain message.
    """
    question = await tg.wait_for("sendMessage", lambda c: "force_reply" in str(c.params.get("reply_markup")))
    await tg.wait_for("editMessageText", lambda c: "⏳ waiting" in c.params["text"])
    return question


async def ledger(app: App, chat_key: str) -> list[tuple[str, int, str]]:
    async with app.services.db.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT kind, mj_tasks, request_key FROM usage_events"
                " WHERE chat_key = :key ORDER BY created_at"
            ),
            {"key": chat_key},
        )
        return [(row[0], row[1], row[2]) for row in rows]


async def test_describe_shows_four_prompts_and_a_button_imagines_one(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    async with run_bot() as app:
        tg.send_photo(private, ann, make_image("blue", size=(64, 32)), caption="/describe")
        result = await tg.wait_for(
            "sendMessage", lambda c: "Imagine 1" in str(c.params.get("reply_markup")), timeout=15
        )
        buttons = buttons_of(result)
        assert [b["text"] for b in buttons] == ["Imagine 1", "Imagine 2", "Imagine 3", "Imagine 4"]
        second = result.params["text"].split("\n\n")[2]
        assert second.startswith("2. ") and "blue" in second and "--ar 2:1" in second
        tg.press_button(private, ann, result.result["message_id"], buttons[1]["callback_data"])
        grid = await tg.wait_for("sendPhoto", timeout=15)
        # A picture the bot drew can be described too: reply to it with /describe.
        tg.send_text(private, ann, "/describe", reply_to_message_id=grid.result["message_id"])
        await tg.wait_for("sendMessage", lambda c: "Imagine 1" in str(c.params.get("reply_markup")), count=2)
        events = await ledger(app, f"tg:{private['id']}")
    [describe, again] = submits(sim, "describe")
    assert str(describe.json["base64"]).startswith("data:image/jpeg;base64,")
    assert str(again.json["base64"]).startswith("data:image/png;base64,"), "the bot's own grid"
    [imagine] = submits(sim, "imagine")
    assert imagine.json["prompt"] == second.removeprefix("2. "), "the button imagines that prompt"
    assert "blue" in grid.params["caption"]
    assert [(kind, tasks) for kind, tasks, _ in events] == [
        ("mj_describe", 1),
        ("mj_imagine", 1),
        ("mj_describe", 1),
    ]
    assert sim.ledger.requests["mj_describe"] == 2 and sim.ledger.mj_tasks == 3


async def test_describe_as_a_reply_to_a_photo_and_its_buttons_after_a_restart(
    run_bot: RunBot, tg: FakeTelegram, *, ann: JSON, bob: JSON, group: JSON, sim: Simulator
) -> None:
    async with run_bot():
        photo = tg.send_photo(group, bob, make_image("green"))  # no caption: nothing to do
        tg.send_text(group, ann, "/describe", reply_to_message_id=photo["message"]["message_id"])
        result = await tg.wait_for(
            "sendMessage", lambda c: "Imagine 1" in str(c.params.get("reply_markup")), timeout=15
        )
        tg.send_text(group, ann, "/describe")
        hint = await tg.wait_for("sendMessage", lambda c: "reply to a photo" in c.params["text"])
    assert "green" in result.params["text"]
    assert "/describe together with one photo" in hint.params["text"]
    async with run_bot():  # the buttons name durable state: they work after a restart
        tg.press_button(group, ann, result.result["message_id"], buttons_of(result)[3]["callback_data"])
        await tg.wait_for("sendPhoto", timeout=15)
    assert len(submits(sim, "describe")) == 1
    [imagine] = submits(sim, "imagine")
    assert "green" in imagine.json["prompt"] and "poster" in imagine.json["prompt"]


async def upscale(tg: FakeTelegram, chat: JSON, user: JSON, prompt: str) -> Any:
    tg.send_text(chat, user, f"/imagine {prompt}")
    grid = await tg.wait_for("sendPhoto", timeout=15)
    tg.press_button(chat, user, grid.result["message_id"], buttons_of(grid)[0]["callback_data"])
    return await tg.wait_for("sendPhoto", count=2, timeout=15)


async def test_custom_zoom_asks_for_the_prompt_and_submits_the_reply(
    run_bot: RunBot, tg: FakeTelegram, *, ann: JSON, bob: JSON, group: JSON, sim: Simulator
) -> None:
    async with run_bot() as app:
        single = await upscale(tg, group, ann, "a tower")
        [zoom] = [b for b in buttons_of(single) if b["text"] == "Custom Zoom"]
        tg.press_button(group, ann, single.result["message_id"], zoom["callback_data"])
        question = await asked_for_prompt(tg)
        asked = question.result["message_id"]
        tg.send_text(group, bob, "a tower in fog --zoom 2", reply_to_message_id=asked)
        refused = await tg.wait_for("sendMessage", lambda c: "Only the person" in c.params["text"])
        # The modal takes effect at once but answers late: trackers poll meanwhile.
        sim.add_fault(Fault(route="/mj/submit/modal", kind="slow_answer", delay=0.5))
        tg.send_text(group, ann, "a tower in fog --zoom 2", reply_to_message_id=asked)
        zoomed = await tg.wait_for("sendPhoto", count=3, timeout=15)
        tg.send_text(group, ann, "again", reply_to_message_id=asked)
        twice = await tg.wait_for("sendMessage", lambda c: "already answered" in c.params["text"])
        events = await ledger(app, f"tg:{group['id']}")
    statuses = [c for c in tg.calls_of("sendMessage") if "Midjourney custom zoom" in c.params["text"]]
    old, new = (tg.get_message(group["id"], c.result["message_id"]) for c in statuses)
    assert old is not None and new is not None
    assert "continued below" in old["text"], "the status above the question does not stay at 'waiting'"
    assert "a tower in fog" in new["text"] and "done" in new["text"]
    assert "for custom zoom" in question.params["text"] and "a tower --zoom 2" in question.params["text"]
    assert question.params["reply_markup"]["input_field_placeholder"] == "a tower --zoom 2"
    [action] = [a for a in submits(sim, "action") if a.json["customId"].startswith("MJ::CustomZoom::")]
    [modal] = submits(sim, "modal")
    assert modal.json["prompt"] == "a tower in fog --zoom 2"
    [task] = [t for t in sim.tasks.values() if t.action == "CUSTOM_ZOOM"]
    assert modal.json["taskId"] == task.id and task.prompt == "a tower in fog --zoom 2"
    assert "a tower in fog" in zoomed.params["caption"]
    assert "⚠️" not in refused.params["text"] and twice.params["text"].startswith("This question")
    kinds = [kind for kind, _, _ in events]
    assert kinds == ["mj_imagine", "mj_action", "mj_action", "mj_modal"], "the modal is paid and recorded"
    assert events[-1][2] == f"mj-modal:{task.id}"
    assert action.json["taskId"] != task.id


async def test_remix_asks_for_the_new_prompt_and_survives_a_restart(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    sim.remix = True
    async with run_bot():
        tg.send_text(private, ann, "/imagine a boat")
        grid = await tg.wait_for("sendPhoto", timeout=15)
        [v2] = [b for b in buttons_of(grid) if b["text"] == "V2"]
        tg.press_button(private, ann, grid.result["message_id"], v2["callback_data"])
        question = await asked_for_prompt(tg)
    assert "for variation" in question.params["text"] and "a boat" in question.params["text"]
    async with run_bot():  # the question is stored: the answer works after a restart
        tg.send_text(
            private, ann, "a boat in a storm [[fail]]", reply_to_message_id=question.result["message_id"]
        )
        failed = await tg.wait_for(
            "editMessageText", lambda c: "failed" in c.params["text"].lower(), timeout=15
        )
    [modal] = submits(sim, "modal")
    assert modal.json["prompt"] == "a boat in a storm [[fail]]"
    [variation] = [t for t in sim.tasks.values() if t.action == "VARIATION"]
    assert variation.prompt == "a boat in a storm [[fail]]"
    [status] = [c for c in tg.calls_of("sendMessage") if "storm" in c.params["text"]]
    assert failed.params["message_id"] == status.result["message_id"], "the new prompt's status shows the end"


async def test_describe_and_its_buttons_count_against_the_midjourney_budget(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    async with run_bot(budgets="chat.day.mj=1"):
        tg.send_photo(private, ann, make_image("red"), caption="/describe")
        result = await tg.wait_for(
            "sendMessage", lambda c: "Imagine 1" in str(c.params.get("reply_markup")), timeout=15
        )
        tg.press_button(private, ann, result.result["message_id"], buttons_of(result)[0]["callback_data"])
        refusal = await tg.wait_for("sendMessage", lambda c: "⛔" in c.params["text"])
    assert "Midjourney" in refusal.params["text"] or "mj" in refusal.params["text"]
    assert submits(sim, "imagine") == [], "refused before any gateway call"

"""The buttons under a chat answer on Telegram (🔄, ⏹, continue), and replies as context."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from simulator import Fault, Simulator
from tests.e2e.gateway_log import chat_completion_bodies
from tests.e2e.images import make_image
from tests.e2e.telegram.conftest import BOT_NAME, RunBot
from tests.e2e.telegram.reports import reply, usage
from tests.e2e.usage_text import report_totals
from tests.fakes.telegram_api import JSON, Call, FakeTelegram

STORY = "[[long:900]] tell me a story"
SLOW = Fault(route="/v1/chat/completions", kind="slow_stream", delay=0.15)


def buttons(message: JSON | None) -> dict[str, str]:
    """A message's inline buttons: label → callback data."""
    assert message is not None
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return {b["text"]: b["callback_data"] for row in rows for b in row}


def sent_with(label: str) -> Any:
    return lambda c: c.ok and label in buttons(c.result)


def edited_with(label: str) -> Any:
    return lambda c: c.ok and label in buttons(c.params)


def texts_of(messages: list[dict[str, Any]], role: str) -> list[str]:
    return [
        m["content"] if isinstance(m["content"], str) else m["content"][0]["text"]
        for m in messages
        if m["role"] == role
    ]


async def test_regenerate_replaces_the_answer_and_works_after_a_restart(
    *, run_bot: RunBot, tg: FakeTelegram, ann: JSON, bob: JSON, group: JSON, sim: Simulator
) -> None:
    async with run_bot():
        await reply(tg, group, ann, f"@{BOT_NAME} hello there", "Echo: hello there")
        first = await tg.wait_for("sendMessage", sent_with("🔄"))
    async with run_bot():  # a restart: the button names the stored answer, nothing in memory
        tg.press_button(group, bob, first.result["message_id"], buttons(first.result)["🔄"])
        second = await tg.wait_for("sendMessage", sent_with("🔄"), count=2)
        # The old button again: its answer was replaced, so nothing is asked or billed.
        tg.press_button(group, bob, first.result["message_id"], buttons(first.result)["🔄"])
        gone = await tg.wait_for("sendMessage", lambda c: c.ok and "no longer" in c.params["text"])
        await reply(tg, group, ann, f"@{BOT_NAME} and then?", "Echo: and then?")
        report = report_totals(await usage(tg, group, ann))
    assert second.params["text"] == "Echo: hello there"
    assert buttons(second.result)["🔄"] != buttons(first.result)["🔄"], "a new key for the new answer"
    assert "replaced" in gone.params["text"]
    asked, regenerated, follow_up = (b["messages"] for b in chat_completion_bodies(sim))
    assert regenerated == asked, "the same question with the same context"
    assert texts_of(follow_up, "user") == ["hello there", "and then?"], "the question is kept once"
    assert texts_of(follow_up, "assistant") == ["Echo: hello there"], "the answer is replaced, not added"
    assert report.requests == 3 == sum(sim.ledger.requests.values()), "the regeneration is billed once"


async def test_two_presses_of_one_regenerate_button_ask_and_bill_once(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, group: JSON, sim: Simulator
) -> None:
    async with run_bot():
        await reply(tg, group, ann, f"@{BOT_NAME} hello there", "Echo: hello there")
        first = await tg.wait_for("sendMessage", sent_with("🔄"))
        regenerate = buttons(first.result)["🔄"]
        tg.press_button(group, ann, first.result["message_id"], regenerate)
        tg.press_button(group, ann, first.result["message_id"], regenerate)  # an impatient double tap
        await tg.wait_for("sendMessage", sent_with("🔄"), count=2)
        await tg.wait_for("sendMessage", lambda c: c.ok and "no longer" in c.params["text"])
        report = report_totals(await usage(tg, group, ann))
    assert len(chat_completion_bodies(sim)) == 2
    assert report.requests == 2 == sum(sim.ledger.requests.values())


@pytest.mark.sim(chunk_delay=0.0)
async def test_a_group_admin_may_stop_another_members_answer(
    *, run_bot: RunBot, tg: FakeTelegram, ann: JSON, bob: JSON, group: JSON, sim: Simulator
) -> None:
    sim.add_fault(SLOW)
    async with run_bot(stream_edit_interval=0.05, stream_group_first_delay=0.05):
        tg.send_text(group, bob, f"@{BOT_NAME} {STORY}")
        growing = await tg.wait_for("sendMessage", sent_with("⏹ Stop"))
        tg.press_button(group, ann, growing.result["message_id"], buttons(growing.result)["⏹ Stop"])
        final = await tg.wait_for("editMessageText", lambda c: c.ok and "🔄" in buttons(c.params))
    assert final.params["text"].endswith("[stopped]")


@pytest.mark.sim(chunk_delay=0.0)
async def test_stop_ends_the_stream_keeps_the_text_and_bills_what_was_made(
    *, run_bot: RunBot, tg: FakeTelegram, ann: JSON, bob: JSON, group: JSON, sim: Simulator
) -> None:
    sim.add_fault(SLOW)
    async with run_bot(stream_edit_interval=0.05, stream_group_first_delay=0.05):
        tg.send_text(group, ann, f"@{BOT_NAME} {STORY}")
        growing = await tg.wait_for("sendMessage", sent_with("⏹ Stop"))
        message_id = growing.result["message_id"]
        stop = buttons(growing.result)["⏹ Stop"]
        tg.press_button(group, bob, message_id, stop)  # Bob did not ask and is no admin
        refused = await tg.wait_for("sendMessage", lambda c: c.ok and "Only the person" in c.params["text"])
        tg.press_button(group, ann, message_id, stop)
        final = await tg.wait_for("editMessageText", lambda c: c.ok and "🔄" in buttons(c.params))
        report = report_totals(await usage(tg, group, ann))
    assert refused.params["text"].startswith("Only the person who asked")
    text = final.params["text"]
    assert text.startswith("Echo: tell me a story") and text.endswith("[stopped]")
    assert len(text) < 900, "the stream was ended early"
    assert "⏹ Stop" not in buttons(tg.get_message(group["id"], message_id)), "⏹ gone once stopped"
    assert report.requests == 1 and report.output_tokens > 0, "what was produced is billed (estimated)"
    [request] = [r for r in sim.requests if r.path == "/v1/chat/completions"]
    assert request.fault == "slow_stream"


@pytest.mark.sim(chunk_delay=0.0)
async def test_in_a_private_chat_telegrams_own_stop_button_on_the_draft_stops_the_answer(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    sim.add_fault(SLOW)
    async with run_bot(stream_draft_interval=0.05):
        tg.send_text(private, ann, STORY)
        draft = await tg.wait_for("sendMessageDraft", lambda c: c.ok and c.params.get("can_stop"))
        tg.stop_draft(private, int(draft.params["draft_id"]))
        final = await tg.wait_for("sendMessage", sent_with("🔄"))
    text = final.params["text"]
    assert text.startswith("Echo: tell me a story") and text.endswith("[stopped]") and len(text) < 900
    assert draft.params.get("keep_on_stop"), "the partial text stays until the final message replaces it"


@pytest.mark.sim(chunk_delay=0.0)
async def test_a_stale_stop_after_a_restart_is_answered_politely(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, group: JSON, sim: Simulator
) -> None:
    sim.add_fault(SLOW)
    async with run_bot(stream_edit_interval=0.05, stream_group_first_delay=0.05, shutdown_grace=0.2):
        tg.send_text(group, ann, f"@{BOT_NAME} {STORY}")
        growing = await tg.wait_for("sendMessage", sent_with("⏹ Stop"))
        # Telegram unreachable as the bot stops: the cut-off answer keeps its ⏹ (as after a kill).
        tg.fail_next("editMessageText", 502, times=1000)
    async with run_bot(shutdown_grace=0.2):
        tg.press_button(group, ann, growing.result["message_id"], buttons(growing.result)["⏹ Stop"])
        answer = await tg.wait_for("sendMessage", lambda c: c.ok and "already finished" in c.params["text"])
        await tg.wait_for("editMessageReplyMarkup")
        # The question the shutdown cut off is the next start's to answer (tests/e2e/telegram/
        # test_shutdown.py follows one to its end): asked once more, as a new answer.
        for _ in range(500):
            if len(chat_completion_bodies(sim)) == 2:
                break
            await asyncio.sleep(0.01)
    assert answer.params["text"] == "This answer has already finished."
    assert buttons(tg.get_message(group["id"], growing.result["message_id"])) == {}, "the stale ⏹ is gone"
    first, again = chat_completion_bodies(sim)
    assert again["messages"][-1] == first["messages"][-1], "the same question, not the stop press"


async def test_continue_goes_on_after_the_output_cap_in_a_new_message(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    async with run_bot(chat_max_tokens=40):
        tg.send_text(private, ann, STORY)
        cut = await tg.wait_for("sendMessage", sent_with("▶️ Continue"))
        assert "🔄" in buttons(cut.result)
        tg.press_button(private, ann, cut.result["message_id"], buttons(cut.result)["▶️ Continue"])
        more = await tg.wait_for("sendMessage", sent_with("🔄"), count=2)
        await reply(tg, private, ann, "thanks", "Echo: thanks")
    first, continued, follow_up = (b["messages"] for b in chat_completion_bodies(sim))
    assert continued[-2]["role"] == "assistant"
    assert texts_of(continued, "user") == [*texts_of(first, "user"), continued[-1]["content"]]
    assert continued[-2]["content"] in cut.params["text"], "the model sees where it stopped"
    assert "Continue it exactly where it stopped" in continued[-1]["content"]
    assert more.params["text"] and more.params["text"] != cut.params["text"]
    [answer] = texts_of(follow_up, "assistant")
    assert answer.startswith(continued[-2]["content"]) and len(answer) > len(continued[-2]["content"])
    assert texts_of(follow_up, "user") == [STORY, "thanks"], "the continuation is part of one answer"


async def test_a_reply_to_another_members_photo_is_part_of_the_question(
    *, run_bot: RunBot, tg: FakeTelegram, ann: JSON, bob: JSON, group: JSON, sim: Simulator
) -> None:
    async with run_bot():
        photo = tg.send_photo(group, bob, make_image(color=(200, 30, 30)), caption="my new car")
        await tg.wait_updates_consumed()
        tg.send_text(
            group, ann, f"@{BOT_NAME} what colour is it?", reply_to_message_id=photo["message"]["message_id"]
        )
        answered: Call = await tg.wait_for("sendMessage", lambda c: c.ok and "Echo" in c.params["text"])
    [body] = chat_completion_bodies(sim)
    question = body["messages"][-1]["content"]
    text = question[0]["text"]
    assert "a message from bob" in text and "quoted as data" in text
    assert "my new car" in text and text.rstrip().endswith("what colour is it?")
    assert [p["type"] for p in question[1:]] == ["image_url"], "the replied-to photo rides along"
    assert question[1]["image_url"]["url"].startswith("data:image/")
    assert answered.params["reply_parameters"]["message_id"] != photo["message"]["message_id"]


async def test_in_a_forum_topic_the_topics_first_message_is_not_taken_for_a_reply(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, sim: Simulator
) -> None:
    forum = tg.group_chat(id=-100300, title="Forum", is_forum=True)
    text = f"@{BOT_NAME} hi in a topic"
    message = tg._user_message(forum, ann, {"text": text}, message_thread_id=77)
    message["entities"] = [{"type": "mention", "offset": 0, "length": len(BOT_NAME) + 1}]
    # What Telegram puts in every plain message of a topic: the topic's service message.
    message["reply_to_message"] = {
        "message_id": 77,
        "date": message["date"],
        "chat": dict(message["chat"]),
        "from": dict(ann),
        "message_thread_id": 77,
        "is_topic_message": True,
        "forum_topic_created": {"name": "Cars", "icon_color": 7322096},
    }
    async with run_bot():
        tg._queue("message", message)
        await tg.wait_for("sendMessage")
    [body] = chat_completion_bodies(sim)
    assert body["messages"][-1]["content"] == "hi in a topic"

"""Tool calling in Telegram conversations: images from plain chat, results back to the model."""

from __future__ import annotations

import asyncio
import json

from bot.app import App
from simulator import Simulator
from tests.e2e.gateway_log import chat_completion_bodies
from tests.e2e.images import decode, make_image
from tests.e2e.telegram.conftest import RunBot
from tests.fakes.telegram_api import JSON, FakeTelegram


async def kinds(app: App, key: str) -> dict[str, int]:
    async with app.services.db.unit_of_work() as uow:
        report = await uow.usage.report(key)
    return {kind: totals.requests for kind, totals in report.by_kind.items()}


async def turns_stored(app: App, key: str, at_least: int) -> None:
    """The turn is remembered just after its image is sent: wait for that before going on."""
    for _ in range(500):
        async with app.services.db.unit_of_work() as uow:
            chat = await uow.chats.get(key)
            stored = await uow.conversations.window(key, chat.conversation_epoch, 100_000) if chat else None
        if stored is not None and len(stored.turns) >= at_least:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"fewer than {at_least} turns were stored in {key}")


async def test_draw_in_plain_chat_ends_with_the_image_from_the_image_handler(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    async with run_bot() as app:
        tg.send_text(private, ann, "Draw me a red fox at sunset")
        photo = await tg.wait_for("sendPhoto")
        counted = await kinds(app, f"tg:{private['id']}")
        await turns_stored(app, f"tg:{private['id']}", 2)  # the question and its image note
        tg.send_text(private, ann, "thanks!")
        await tg.wait_for("sendMessage", lambda c: "thanks" in c.params["text"])
    [call, follow_up] = chat_completion_bodies(sim)
    names = [t["function"]["name"] for t in call["tools"]]
    assert names == ["generate_image", "edit_images", "imagine_midjourney", "show_usage"]
    [generation] = [r.json for r in sim.requests if r.path == "/v1/images/generations"]
    assert generation["prompt"] == "a red fox at sunset"
    assert photo.params["caption"] == "a red fox at sunset", "same delivery as /image"
    assert decode(photo.files["photo"]).format == "PNG"
    # The image was the answer: no second call to phrase it; one usage event per billed call.
    assert counted == {"chat": 1, "image_generation": 1}
    assert sim.ledger.requests["chat"] == 2  # the tool call, then "thanks!"
    remembered = [m["content"] for m in follow_up["messages"]]
    assert "[sent an image: a red fox at sunset]" in remembered


async def test_usage_tool_result_goes_back_to_the_model_as_a_tool_message(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    async with run_bot() as app:
        tg.send_text(private, ann, "hello")
        await tg.wait_for("sendMessage", count=1)
        tg.send_text(private, ann, "tool:show_usage what have we spent?")
        answer = await tg.wait_for("sendMessage", count=2)
        counted = await kinds(app, f"tg:{private['id']}")
    *_, with_call, with_result = chat_completion_bodies(sim)
    assert with_call["messages"][-1]["content"] == "tool:show_usage what have we spent?"
    assistant, tool = with_result["messages"][-2:]
    assert assistant["role"] == "assistant" and assistant["tool_calls"][0]["function"]["name"] == "show_usage"
    assert tool["role"] == "tool" and tool["tool_call_id"] == assistant["tool_calls"][0]["id"]
    summary = json.loads(tool["content"])
    assert summary["all_time"]["requests"] == 2, "hello, and the call that asked for the tool"
    assert answer.params["text"].startswith("Done: {")
    assert counted == {"chat": 3}, "hello, the call asking for the tool, the answer"


async def test_edit_tool_edits_the_photo_of_the_conversation(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    async with run_bot():
        tg.send_photo(private, ann, make_image("red"), caption="/ask what is this?")
        await tg.wait_for("sendMessage", count=1)
        tg.send_text(private, ann, "tool:edit_images make the background purple")
        edited = await tg.wait_for("sendPhoto")
    [edit] = [r for r in sim.requests if r.path == "/v1/images/edits"]
    assert edit.form["prompt"] == "make the background purple", "the model's tool argument, unchanged"
    assert edit.file_count == 1
    assert decode(edited.files["photo"]).format == "PNG"


async def test_edit_tool_without_images_lets_the_model_say_so(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    async with run_bot():
        tg.send_text(private, ann, "tool:edit_images make it purple")
        answer = await tg.wait_for("sendMessage")
    assert "no images in this conversation" in answer.params["text"]
    assert not any(r.path == "/v1/images/edits" for r in sim.requests)


async def test_tool_rounds_are_bounded(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    async with run_bot(max_tool_rounds=1):
        tg.send_text(private, ann, "tool:show_usage how much?")
        await tg.wait_for("sendMessage")
    first, last = chat_completion_bodies(sim)
    assert "tool_choice" not in first
    assert last["tool_choice"] == "none", "the last round may not call again"


async def test_claude_tool_use_draws_too(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    async with run_bot(chat_model="claude-3-5-sonnet-20241022"):
        tg.send_text(private, ann, "please paint a lighthouse")
        photo = await tg.wait_for("sendPhoto")
        said = await tg.wait_for("sendMessage", lambda c: "generate_image" in c.params["text"])
    [body] = [r.json for r in sim.requests if r.path == "/v1/messages"]
    assert body["tools"][0]["name"] == "generate_image" and "input_schema" in body["tools"][0]
    assert photo.params["caption"] == "a lighthouse"
    assert said.params["text"] == "I'll use the generate_image tool."


async def test_a_model_that_refuses_tools_is_asked_again_without_them(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    from simulator import Fault

    sim.add_fault(
        Fault(
            route="/v1/chat/completions", status=400, message="tools is not supported for model deepseek-r1"
        )
    )
    async with run_bot():
        tg.send_text(private, ann, "hello")
        answer = await tg.wait_for("sendMessage")
    refused, retried = [r for r in sim.requests if r.path == "/v1/chat/completions"]
    assert refused.status == 400  # (a faulted request is refused before its body is read)
    assert retried.status == 200 and "tools" not in retried.json
    assert answer.params["text"] == "Echo: hello"

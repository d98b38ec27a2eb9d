"""Telegram adapter edge cases: button presses, captions, mentions, senders, late album parts."""

from __future__ import annotations

import asyncio
import gc

import pytest

from adapters.telegram.limits import CAPTION_LIMIT, TEXT_LIMIT, utf16_len
from bot.model import ChatAddress, OutImage, SentMessage
from simulator import Fault, Simulator
from storage import Database
from tests.e2e.images import make_image
from tests.e2e.telegram.conftest import BOT_NAME, RunBot, send_as_chat
from tests.fakes.telegram_api import JSON, FakeTelegram

TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"


def user_texts(sim: Simulator) -> list[str]:
    """The last user message of every chat completion request, as text."""
    texts = []
    for request in sim.requests:
        if request.path == "/v1/chat/completions" and not request.json.get("response_format"):
            content = request.json["messages"][-1]["content"]
            texts.append(content if isinstance(content, str) else content[0]["text"])
    return texts


async def test_a_button_press_is_handled_even_if_answering_the_query_fails(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON
) -> None:
    async with run_bot():
        tg.send_text(private, ann, "/model")
        menu = await tg.wait_for("sendMessage", count=1)
        payload = menu.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        # A press that waited in the queue while the bot was down cannot be answered any more.
        tg.fail_next("answerCallbackQuery", error_code=400, description=TOO_OLD)
        tg.press_button(private, ann, menu.result["message_id"], payload)
        switched = await tg.wait_for("sendMessage", count=2)
    assert "now uses" in switched.params["text"]


async def test_an_emoji_caption_is_measured_in_utf16_units_and_nothing_is_lost(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON
) -> None:
    foxes = "🦊" * 700  # 700 characters, 1400 UTF-16 units: fits the handler, not Telegram
    async with run_bot(chat_model="gpt-4o-image"):
        tg.send_text(private, ann, f"draw {foxes}")
        photo = await tg.wait_for("sendPhoto")
        await tg.wait_for("sendMessage", lambda c: foxes in c.params["text"])
    assert utf16_len(photo.params.get("caption") or "") <= CAPTION_LIMIT


async def test_an_edit_is_cut_to_the_limit_in_utf16_units(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON
) -> None:
    async with run_bot() as app:
        tg.send_text(private, ann, "/help")
        sent = await tg.wait_for("sendMessage")
        outbox = app.platforms[0].messenger.outbox_for(ChatAddress("tg", str(ann["id"])), None)
        await outbox.edit_text(SentMessage(str(sent.result["message_id"])), "😀" * 3000)
        edit = await tg.wait_for("editMessageText")
    assert utf16_len(edit.params["text"]) <= TEXT_LIMIT
    assert edit.params["text"].endswith("…")


async def test_code_keeps_its_indentation_next_to_links_and_mentions(
    *, run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, group: JSON, sim: Simulator
) -> None:
    code = "def f(x):\n    if  x:\n        return 1"
    async with run_bot():
        link = [{"type": "url", "offset": 4, "length": 19}]
        tg.send_text(private, ann, f"see https://example.com\n{code}", entities=link)
        await tg.wait_for("sendMessage", count=1)
        tg.send_text(group, ann, f"@{BOT_NAME}  fix  this:\n{code}")
        await tg.wait_for("sendMessage", count=2)
    in_private, in_group = user_texts(sim)
    assert in_private == f"see https://example.com\n{code}"
    assert in_group.endswith(f"fix  this:\n{code}")


async def test_an_anonymous_group_admin_is_the_group_and_an_admin(
    run_bot: RunBot, tg: FakeTelegram, group: JSON
) -> None:
    async with run_bot() as app:
        send_as_chat(tg, group, group, "/usage export")
        export = await tg.wait_for("sendDocument")
        send_as_chat(tg, group, group, "/ask hello")
        await tg.wait_for("sendMessage", lambda c: "hello" in c.params["text"])
        async with app.services.db.unit_of_work() as uow:
            report = await uow.usage.report(f"tg:{group['id']}")
    assert export.ok
    [user] = report.top_users
    assert (user.user_id, user.user_name) == (str(group["id"]), "Team")


async def test_a_channel_speaking_in_a_group_is_not_its_admin(
    run_bot: RunBot, tg: FakeTelegram, group: JSON
) -> None:
    channel = {"id": -100600, "type": "channel", "title": "News"}
    async with run_bot():
        send_as_chat(tg, group, channel, "/usage export")
        refusal = await tg.wait_for("sendMessage")
    assert "admins" in refusal.params["text"]
    assert tg.calls_of("getChatMember") == [], "a chat cannot be a member; nothing to ask"


async def test_an_album_part_arriving_after_the_album_was_sent_on_is_not_a_new_request(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    async with run_bot(album_wait=0.2):
        [first, _] = tg.send_album(
            private, ann, [make_image("red"), make_image("green")], caption="make it blue"
        )
        await tg.wait_for("sendPhoto")
        group_id = first["message"]["media_group_id"]
        tg.send_photo(private, ann, make_image("blue"), media_group_id=group_id)  # a straggler
        await tg.wait_updates_consumed()
        await asyncio.sleep(0.6)
    assert [r.path for r in sim.requests if r.path.startswith("/v1/images")] == ["/v1/images/edits"]
    [status] = tg.calls_of("sendMessage")  # no "what should I change?" for the straggler
    assert "Editing 2 photos" in status.params["text"]


async def test_more_photos_than_an_album_holds_are_all_sent(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON
) -> None:
    images = [OutImage(make_image("red", fmt="PNG")) for _ in range(11)]
    async with run_bot() as app:
        outbox = app.platforms[0].messenger.outbox_for(ChatAddress("tg", str(ann["id"])), None)
        await outbox.send_images(images, caption="eleven")
    [album] = tg.calls_of("sendMediaGroup")
    [last] = tg.calls_of("sendPhoto")
    assert len(album.params["media"]) == 10
    assert album.params["media"][0]["caption"] == "eleven"
    assert "caption" not in last.params


async def test_a_refused_album_goes_as_files_and_keeps_its_caption(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON
) -> None:
    images = [OutImage(make_image(color, fmt="PNG")) for color in ("red", "green")]
    async with run_bot() as app:
        outbox = app.platforms[0].messenger.outbox_for(ChatAddress("tg", str(ann["id"])), None)
        tg.fail_next("sendMediaGroup", error_code=400, description="Bad Request: PHOTO_INVALID_DIMENSIONS")
        await outbox.send_images(images, caption="two")
    first, second = tg.calls_of("sendDocument")
    assert first.params["caption"] == "two"
    assert "caption" not in second.params


@pytest.mark.parametrize(("chat", "method"), [("group", "sendChatAction"), ("private", "sendMessageDraft")])
async def test_a_failing_typing_indicator_never_disturbs_the_answer(
    *,
    run_bot: RunBot,
    tg: FakeTelegram,
    ann: JSON,
    request: pytest.FixtureRequest,
    sim: Simulator,
    caplog: pytest.LogCaptureFixture,
    chat: str,
    method: str,
) -> None:
    where: JSON = request.getfixturevalue(chat)
    sim.add_fault(Fault(route="/v1/chat/completions", kind="slow_first_byte", delay=0.6))
    async with run_bot():
        tg.fail_next(method, error_code=429, description="Too Many Requests: retry after 5", retry_after=5)
        tg.send_text(where, ann, f"@{BOT_NAME} are you there?")
        answer = await tg.wait_for("sendMessage", lambda c: "are you there?" in c.params["text"])
    gc.collect()
    assert answer.ok
    assert "never retrieved" not in caplog.text
    # The indicators only (a chat action; an empty draft): the answer's own text may also be
    # previewed as a draft when its stream takes over 0.05 s on a loaded machine.
    indicators = [c for c in tg.calls_of(method) if not c.params.get("text")]
    assert len(indicators) == 1, "a refused indicator is not retried in a loop"


async def test_a_refused_thinking_placeholder_falls_back_to_typing(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    sim.add_fault(Fault(route="/v1/chat/completions", kind="slow_first_byte", delay=0.6, times=2))
    async with run_bot():
        tg.fail_next("sendMessageDraft", error_code=400, description="Bad Request: TEXTDRAFT_PEER_INVALID")
        tg.send_text(private, ann, "are you there?")
        answer = await tg.wait_for("sendMessage", lambda c: "are you there?" in c.params["text"])
        tg.send_text(private, ann, "and now?")
        await tg.wait_for("sendMessage", lambda c: "and now?" in c.params["text"])
    assert answer.ok
    assert [a.params["action"] for a in tg.calls_of("sendChatAction")] == ["typing", "typing"]
    placeholders = [c for c in tg.calls_of("sendMessageDraft") if not c.params.get("text")]
    assert len(placeholders) == 1, "after a refusal the next answer types instead of asking again"


@pytest.mark.sim(chunk_delay=0.05)  # a slow stream: the preview is running at the stop
async def test_stopping_mid_answer_leaves_no_preview_task_behind(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON
) -> None:
    async with run_bot(stream_draft_interval=0.0, shutdown_grace=0.0):
        tg.send_text(private, ann, "tell me a long story [[long:4000]]")
        await tg.wait_for("sendMessageDraft")
    await asyncio.sleep(0)
    left = [t for t in asyncio.all_tasks() if t.get_name() == "live-text" and not t.done()]
    assert left == []


async def test_a_message_journaled_before_is_dropped_when_telegram_sends_it_again(
    run_bot: RunBot, tg: FakeTelegram, *, ann: JSON, private: JSON, sim: Simulator, database_url: str
) -> None:
    """Telegram sends again what it was never told was received (a process journaled and
    answered it, then died before its next getUpdates): the copy costs nothing and says nothing."""
    async with run_bot():  # a database at the newest schema
        pass
    again = tg.send_text(private, ann, "answered before the crash")
    db = Database(database_url)
    try:
        async with db.unit_of_work() as uow:
            assert await uow.inbound.record("tg", str(again["update_id"]), "{}", "a-process-now-gone")
            await uow.inbound.handled("tg", [str(again["update_id"])])
            await uow.commit()
    finally:
        await db.dispose()
    async with run_bot():
        tg.send_text(private, ann, "a new question")
        await tg.wait_for("sendMessage", lambda c: "a new question" in c.params.get("text", ""))
        await asyncio.sleep(0.3)  # an answer to the copy would come now
    texts = [str(c.params.get("text")) for c in tg.calls_of("sendMessage")]
    assert not any("answered before the crash" in text for text in texts), texts
    assert user_texts(sim) == ["a new question"]

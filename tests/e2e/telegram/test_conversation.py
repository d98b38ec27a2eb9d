"""Chat turns on Telegram: routing rules, memory, /new, splitting, typing, topics."""

from __future__ import annotations

import asyncio

from simulator import Fault, Simulator
from tests.e2e.telegram.conftest import BOT_NAME, RunBot
from tests.e2e.transactions import WriteTransactions, all_handled
from tests.fakes.telegram_api import JSON, FakeTelegram


def chat_requests(sim: Simulator) -> list[dict]:
    return [r.json for r in sim.requests if r.path == "/v1/chat/completions" and r.status == 200]


async def test_private_text_is_a_chat_turn_with_a_thinking_placeholder_and_reply(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    async with run_bot():
        update = tg.send_text(private, ann, "hello there")
        sent = await tg.wait_for("sendMessage", lambda c: "Echo" in c.params.get("text", ""))
        quick = tg.calls_of("sendMessageDraft")
        # No "Thinking…" (an empty draft: it waits 0.25 s). A preview of the text itself may come
        # when a loaded machine takes over 0.05 s to finish the stream: that is streaming, not an indicator.
        assert [c for c in quick if not c.params.get("text")] == [], "a quick answer needs no indicator"
        sim.add_fault(Fault(route="/v1/chat/completions", kind="slow_first_byte", delay=0.6))
        tg.send_text(private, ann, "think about it")
        await tg.wait_for("sendMessage", lambda c: "think about it" in c.params.get("text", ""))
    assert "hello there" in sent.params["text"]
    assert sent.params["reply_parameters"]["message_id"] == update["message"]["message_id"]
    # A slow one shows Telegram's "Thinking…" (an empty draft) once, not a chat action every 4.5 s.
    assert tg.calls_of("sendChatAction") == []
    placeholder, *texts = tg.calls_of("sendMessageDraft")[len(quick) :]
    assert placeholder.params.get("text", "") == ""
    assert all(t.params["draft_id"] == placeholder.params["draft_id"] for t in texts), "one draft, animated"
    assert chat_requests(sim)[0]["model"] == "gpt-4o-mini"


async def test_groups_show_typing_while_a_slow_answer_comes(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, group: JSON, sim: Simulator
) -> None:
    sim.add_fault(Fault(route="/v1/chat/completions", kind="slow_first_byte", delay=0.6))
    async with run_bot():
        tg.send_text(group, ann, f"@{BOT_NAME} think about it")
        await tg.wait_for("sendMessage", lambda c: "think about it" in c.params.get("text", ""))
    assert [a.params["action"] for a in tg.calls_of("sendChatAction")] == ["typing"]
    assert tg.calls_of("sendMessageDraft") == [], "drafts exist in private chats only"


async def test_memory_is_kept_per_chat_and_new_forgets(
    *, run_bot: RunBot, tg: FakeTelegram, ann: JSON, bob: JSON, private: JSON, sim: Simulator
) -> None:
    async with run_bot():
        tg.send_text(private, ann, "my name is Ann")
        await tg.wait_for("sendMessage", count=1)
        tg.send_text(private, ann, "what is my name?")
        await tg.wait_for("sendMessage", count=2)
        tg.send_text(tg.private_chat(bob), bob, "who am I?")
        await tg.wait_for("sendMessage", count=3)
        tg.send_text(private, ann, "/new")
        await tg.wait_for("sendMessage", lambda c: "new conversation" in c.params["text"])
        tg.send_text(private, ann, "fresh start")
        await tg.wait_for("sendMessage", lambda c: "fresh start" in c.params["text"])
    bodies = chat_requests(sim)
    contents = [[m["content"] for m in body["messages"]] for body in bodies]
    system = contents[0][0]
    assert contents[0] == [system, "my name is Ann"]
    assert contents[1] == [system, "my name is Ann", "Echo: my name is Ann", "what is my name?"]
    assert contents[2] == [system, "who am I?"], "Bob's chat must not see Ann's memory"
    assert contents[3] == [system, "fresh start"], "after /new only system + the new turn"


async def test_group_answers_only_when_addressed(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, group: JSON, sim: Simulator
) -> None:
    async with run_bot():
        tg.send_text(group, ann, "just talking among humans")
        await tg.wait_updates_consumed()
        tg.send_text(group, ann, f"@{BOT_NAME} what is two plus two")
        first = await tg.wait_for("sendMessage", count=1)
        bot_message_id = first.result["message_id"]
        tg.send_text(group, ann, "and three more?", reply_to_message_id=bot_message_id)
        await tg.wait_for("sendMessage", count=2)
        tg.send_text(group, ann, f"/ask@{BOT_NAME} explain gravity")
        await tg.wait_for("sendMessage", count=3)
        tg.send_text(group, ann, "/ask")
        hint = await tg.wait_for("sendMessage", count=4)
        tg.send_text(group, ann, "/imagine@other_bot a cat")
        await tg.wait_updates_consumed()
        await asyncio.sleep(0.3)
    texts = [c.params["text"] for c in tg.calls_of("sendMessage")]
    assert len(texts) == 4
    assert "what is two plus two" in texts[0] and f"@{BOT_NAME}" not in texts[0]
    assert "and three more?" in texts[1]
    assert "explain gravity" in texts[2]
    assert hint.params["text"].startswith("Usage: /ask")
    assert len(chat_requests(sim)) == 3, "the hint and the other bot's command make no gateway call"


async def test_long_answer_is_split_under_4096(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON
) -> None:
    words = " ".join(f"word{i}" for i in range(900))  # ~7 000 characters echoed back
    async with run_bot():
        tg.send_text(private, ann, words)
        await tg.wait_for("sendMessage", count=2)
        await asyncio.sleep(0.2)
    parts = [c.params["text"] for c in tg.calls_of("sendMessage")]
    assert len(parts) == 2
    assert all(len(p) <= 4096 for p in parts)
    assert " ".join(parts).split() == ("Echo: " + words).split()
    assert "reply_parameters" in tg.calls_of("sendMessage")[0].params


async def test_forum_topic_is_kept_on_replies(run_bot: RunBot, tg: FakeTelegram, ann: JSON) -> None:
    forum = tg.group_chat(id=-100300, title="Forum", is_forum=True)
    async with run_bot():
        tg.send_text(forum, ann, f"@{BOT_NAME} hi in a topic", message_thread_id=77)
        sent = await tg.wait_for("sendMessage")
    assert sent.params["message_thread_id"] == 77
    assert all(c.params.get("message_thread_id") == 77 for c in tg.calls_of("sendChatAction"))


async def test_prompt_too_long_and_sticker_get_hints_without_gateway_calls(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    async with run_bot():
        tg.send_text(private, ann, "x" * 50_000)
        too_long = await tg.wait_for("sendMessage", count=1)
        tg.send_sticker(private, ann)
        sticker = await tg.wait_for("sendMessage", count=2)
    assert "50,000 characters" in too_long.params["text"]
    assert "stickers" in sticker.params["text"]
    assert chat_requests(sim) == []


async def test_help_lists_commands_and_menu_is_set(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON
) -> None:
    async with run_bot():
        tg.send_text(private, ann, "/start")
        sent = await tg.wait_for("sendMessage")
    for name in ("/imagine", "/blend", "/image", "/usage", "/new", "/ask"):
        assert name in sent.params["text"]
    menu = tg.calls_of("setMyCommands")[0].params["commands"]
    assert {c["command"] for c in menu} >= {"imagine", "blend", "image", "usage", "new", "help", "ask"}


async def test_a_chat_turn_commits_three_times_and_its_update_is_handled_after_its_answer(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON
) -> None:
    """The journal before the update is acknowledged; the answer with its usage; the update
    marked handled once the answer is sent. A crash before that last write replays the update,
    and the stored answer is sent again unpaid (tests/e2e/test_crash.py); handled together
    with the answer, a crash before the send would lose an answer the chat paid for."""

    async with run_bot() as app:
        tg.send_text(private, ann, "hello there")  # the first message also registers the chat
        await tg.wait_for("sendMessage", lambda c: "hello there" in c.params.get("text", ""))
        await all_handled(app)
        writes = WriteTransactions(app.services.db.engine)
        try:
            tg.send_text(private, ann, "and once more")
            await tg.wait_for("sendMessage", lambda c: "and once more" in c.params.get("text", ""))
            await all_handled(app)
            await asyncio.sleep(0.2)  # a late fourth write would land now
        finally:
            writes.close()
    journal, answer, handled = writes.of_requests()
    assert journal == {"inbound"}
    assert answer >= {"conversation_turns", "usage_events"}
    assert "inbound" not in answer
    assert handled == {"inbound"}

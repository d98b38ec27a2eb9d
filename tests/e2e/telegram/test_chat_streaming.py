"""Streamed chat answers on Telegram: drafts in private chats, one paced message in groups."""

from __future__ import annotations

import itertools

import pytest

from simulator import Simulator
from tests.e2e.gateway_log import chat_completion_bodies
from tests.e2e.telegram.conftest import BOT_NAME, RunBot
from tests.fakes.telegram_api import JSON, FakeTelegram

STORY = "[[long:600]] tell me a story"


@pytest.mark.sim(chunk_delay=0.04)
async def test_private_answer_streams_as_drafts_then_one_message(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    async with run_bot(stream_draft_interval=0.0):
        tg.send_text(private, ann, STORY)
        final = await tg.wait_for("sendMessage")
    body = chat_completion_bodies(sim)[0]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}

    drafts = tg.calls_of("sendMessageDraft")
    assert len(drafts) >= 3, "the answer was shown while it was written"
    assert all(d.ok for d in drafts)
    assert len({d.params["draft_id"] for d in drafts}) == 1, "one draft, animated"
    texts = [d.params["text"] for d in drafts]
    assert all(len(a) < len(b) for a, b in itertools.pairwise(texts)), "each draft shows more"
    answer = final.params["text"]
    assert answer.startswith("Echo: tell me a story") and len(answer) >= 590
    assert all(answer.startswith(t) for t in texts)
    assert drafts[-1].at <= final.at
    # Time to first visible text: the first draft comes long before the answer is complete.
    assert final.at - drafts[0].at > 0.2
    assert tg.calls_of("editMessageText") == []


@pytest.mark.sim(chunk_delay=0.04)
async def test_group_answer_is_one_message_edited_as_it_grows(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, group: JSON, sim: Simulator
) -> None:
    async with run_bot(stream_edit_interval=0.05, stream_group_first_delay=0.05):
        update = tg.send_text(group, ann, f"@{BOT_NAME} {STORY}")
        await tg.wait_for("editMessageText", lambda c: not c.params["text"].endswith("▌"))
    [first] = tg.calls_of("sendMessage")
    assert first.params["text"].endswith("▌"), "the partial answer shows it is still being written"
    assert first.params["reply_parameters"]["message_id"] == update["message"]["message_id"]
    edits = tg.calls_of("editMessageText")
    assert len(edits) >= 2
    assert all(e.ok for e in edits), "no 'message is not modified' or other edit errors"
    assert {e.params["message_id"] for e in edits} == {first.result["message_id"]}
    texts = [e.params["text"].removesuffix(" ▌") for e in edits]
    assert all(len(a) <= len(b) for a, b in itertools.pairwise(texts))
    final = tg.get_message(group["id"], first.result["message_id"])
    assert final is not None and final["text"].startswith("Echo: tell me a story")
    assert not final["text"].endswith("▌")
    assert tg.calls_of("sendMessageDraft") == [], "drafts exist only in private chats"


async def test_short_group_answer_arrives_whole_without_edits(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, group: JSON
) -> None:
    async with run_bot():
        tg.send_text(group, ann, f"@{BOT_NAME} hi")
        sent = await tg.wait_for("sendMessage")
    assert sent.params["text"] == "Echo: hi"
    assert tg.calls_of("editMessageText") == []


@pytest.mark.sim(chunk_delay=0.04)
async def test_flood_control_pauses_the_edits_and_the_answer_still_lands(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, group: JSON, sim: Simulator
) -> None:
    tg.fail_next("editMessageText", 429, retry_after=1)
    async with run_bot(stream_edit_interval=0.05, stream_group_first_delay=0.05):
        tg.send_text(group, ann, f"@{BOT_NAME} {STORY}")
        done = await tg.wait_for(
            "editMessageText", lambda c: c.ok and not c.params["text"].endswith("▌"), timeout=15
        )
    edits = tg.calls_of("editMessageText")
    refused = [e for e in edits if not e.ok]
    assert [e.error_code for e in refused] == [429]
    after = [e for e in edits if e.at > refused[0].at]
    assert after and after[0].at - refused[0].at >= 0.9, "the bot waited as Telegram asked"
    assert done.params["text"].startswith("Echo: tell me a story")
    [partial] = tg.calls_of("sendMessage")
    assert partial.params["text"].endswith("▌"), "one message, and no error message"


async def test_stream_cut_by_the_gateway_is_marked(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    from simulator import Fault

    sim.add_fault(Fault(route="/v1/chat/completions", kind="cut_stream", after_chunks=3))
    async with run_bot():
        tg.send_text(private, ann, STORY)
        sent = await tg.wait_for("sendMessage")
    assert sent.params["text"].endswith("[the answer was cut off]")

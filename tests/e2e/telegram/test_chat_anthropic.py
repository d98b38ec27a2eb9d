"""Anthropic-format chat models on Telegram: /v1/messages, streamed, with memory, vision, usage."""

from __future__ import annotations

import pytest

from bot.app import App
from simulator import Simulator
from tests.e2e.images import make_image
from tests.e2e.telegram.conftest import RunBot
from tests.fakes.telegram_api import JSON, FakeTelegram

CLAUDE = "claude-3-5-sonnet-20241022"


def messages_bodies(sim: Simulator) -> list[dict]:
    return [r.json for r in sim.requests if r.path == "/v1/messages"]


async def chat_usage(app: App, key: str) -> tuple[int, int, int]:
    async with app.services.db.unit_of_work() as uow:
        report = await uow.usage.report(key)
    totals = report.by_kind["chat"]
    return totals.requests, totals.input_tokens, totals.output_tokens


@pytest.mark.sim(chunk_delay=0.02)
async def test_claude_streams_through_messages_with_memory_and_exact_usage(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    async with run_bot(chat_model=CLAUDE, stream_draft_interval=0.0) as app:
        tg.send_text(private, ann, "my name is Ann [[long:300]]")
        first = await tg.wait_for("sendMessage", count=1)
        tg.send_text(private, ann, "what is my name?")
        second = await tg.wait_for("sendMessage", count=2)
        requests, tokens_in, tokens_out = await chat_usage(app, f"tg:{private['id']}")

    assert first.params["text"].startswith("Echo: my name is Ann")
    assert second.params["text"] == "Echo: what is my name? [history: 2 messages]"
    assert tg.calls_of("sendMessageDraft"), "Claude's answer streamed as drafts too"
    assert [r.path for r in sim.requests if r.path.startswith("/v1/chat")] == []
    bodies = messages_bodies(sim)
    assert all(b["stream"] is True and b["max_tokens"] > 0 for b in bodies)
    assert bodies[1]["system"].startswith("You are a helpful assistant")
    assert [m["role"] for m in bodies[1]["messages"]] == ["user", "assistant", "user"]
    headers = [r.headers for r in sim.requests if r.path == "/v1/messages"]
    assert all(h.get("anthropic-version") == "2023-06-01" for h in headers)
    # Input tokens from message_start, output tokens from message_delta: exactly what was billed.
    assert sim.ledger.requests == {"messages": 2}
    assert (requests, tokens_in, tokens_out) == (2, sim.ledger.input_tokens, sim.ledger.output_tokens)


async def test_claude_sees_photos_as_base64_image_blocks(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    async with run_bot(chat_model=CLAUDE):
        tg.send_photo(private, ann, make_image("red", (64, 48)), caption="/ask what is this")
        sent = await tg.wait_for("sendMessage")
    assert sent.params["text"].startswith("I see 1 image: 64x48 red.")
    [body] = messages_bodies(sim)
    blocks = body["messages"][-1]["content"]
    image = next(b for b in blocks if b["type"] == "image")
    assert image["source"]["type"] == "base64" and image["source"]["media_type"] == "image/jpeg"
    assert not image["source"]["data"].startswith("data:")
    assert {"type": "text", "text": "what is this"} in blocks

"""Long memory on Telegram: turns beyond the budget are embedded and recalled when relevant."""

from __future__ import annotations

from bot.app import App
from simulator import Simulator
from tests.e2e.gateway_log import chat_completion_bodies
from tests.e2e.telegram.conftest import RunBot
from tests.fakes.telegram_api import JSON, FakeTelegram

SMALL_TALK = [
    "the weather is rainy and grey today",
    "I bought new running shoes yesterday",
    "our train was late again this morning",
    "lunch was a bowl of noodle soup",
]


async def embedding_usage(app: App, key: str) -> tuple[int, int]:
    async with app.services.db.unit_of_work() as uow:
        totals = (await uow.usage.report(key)).by_kind.get("embedding")
    return (totals.requests, totals.input_tokens) if totals else (0, 0)


async def test_a_fact_from_beyond_the_budget_is_recalled(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    async with run_bot(history_token_budget=40) as app:
        tg.send_text(private, ann, "my cat is called Mochi")
        await tg.wait_for("sendMessage", count=1)
        assert [r.path for r in sim.requests if r.path == "/v1/embeddings"] == [], "all fits: no call"
        for n, text in enumerate(SMALL_TALK, 2):
            tg.send_text(private, ann, text)
            await tg.wait_for("sendMessage", count=n)
        tg.send_text(private, ann, "what is my cat called?")
        await tg.wait_for("sendMessage", count=len(SMALL_TALK) + 2)
        usage = await embedding_usage(app, f"tg:{private['id']}")

    last = chat_completion_bodies(sim)[-1]["messages"]
    window = [m["content"] for m in last if m["role"] in ("user", "assistant")]
    assert "my cat is called Mochi" not in window, "the fact left the window"
    [note] = [m["content"] for m in last[1:] if m["role"] == "system"]
    assert note.startswith("Earlier in this conversation")
    assert "user: my cat is called Mochi" in note
    assert "noodle" not in note, "only the relevant turns come back"

    embedding_calls = [r.json for r in sim.requests if r.path == "/v1/embeddings"]
    assert embedding_calls and all(isinstance(c["input"], list) for c in embedding_calls)
    assert embedding_calls[-1]["input"][0] == "what is my cat called?"
    embedded = [text for call in embedding_calls for text in call["input"][1:]]
    assert embedded.count("my cat is called Mochi") == 1, "each turn is embedded once"
    assert sim.ledger.requests["embeddings"] == len(embedding_calls)
    assert usage == (len(embedding_calls), _embedding_tokens(sim)), "every embedding call is billed usage"


def _embedding_tokens(sim: Simulator) -> int:
    """The simulator bills ceil(chars / 4) per input, at least 1."""
    calls = [r.json for r in sim.requests if r.path == "/v1/embeddings"]
    return sum(max(1, -(-len(text) // 4)) for call in calls for text in call["input"])


async def test_without_an_embedding_model_there_is_no_recall(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    async with run_bot(history_token_budget=20, embedding_model=""):
        for n, text in enumerate(["my cat is called Mochi", *SMALL_TALK], 1):
            tg.send_text(private, ann, text)
            await tg.wait_for("sendMessage", count=n)
    assert not any(r.path == "/v1/embeddings" for r in sim.requests)

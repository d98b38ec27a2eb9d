"""Captioned photos on Telegram: structured-output classification into edit, question or blend."""

from __future__ import annotations

import logging

import pytest

from bot.app import App
from simulator import Simulator
from tests.e2e.images import make_image
from tests.e2e.telegram.conftest import RunBot
from tests.fakes.telegram_api import JSON, FakeTelegram


def classifications(sim: Simulator) -> list[dict]:
    return [
        r.json
        for r in sim.requests
        if r.path == "/v1/chat/completions" and (r.json or {}).get("response_format")
    ]


def paths(sim: Simulator) -> list[str]:
    return [r.path for r in sim.requests]


async def usage_of(app: App, key: str, kind: str) -> tuple[int, int, int]:
    async with app.services.db.unit_of_work() as uow:
        totals = (await uow.usage.report(key)).by_kind.get(kind)
    return (totals.requests, totals.input_tokens, totals.output_tokens) if totals else (0, 0, 0)


async def test_an_instruction_is_classified_as_an_edit_and_the_call_is_billed(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    async with run_bot() as app:
        tg.send_photo(private, ann, make_image(), caption="please make it blue")
        await tg.wait_for("sendPhoto")
        classified = await usage_of(app, f"tg:{private['id']}", "classification")
        edited = await usage_of(app, f"tg:{private['id']}", "image_edit")
    [request] = classifications(sim)
    assert request["model"] == "gpt-4o-mini"
    assert request["response_format"]["type"] == "json_schema"
    schema = request["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["intent"]["enum"] == ["edit", "question", "blend"]
    assert request["messages"][-1] == {"role": "user", "content": "please make it blue"}
    [edit] = [r for r in sim.requests if r.path == "/v1/images/edits"]
    assert edit.form["prompt"] == "make it blue", "the classifier's cleaned prompt is what gets edited"
    # One chat call (the classification) and one edit were billed; both are in the ledger.
    assert sim.ledger.requests == {"chat": 1, "image_edit": 1}
    assert classified[0] == 1 and classified[1] > 0
    assert classified[1] + edited[1] == sim.ledger.input_tokens
    assert classified[2] + edited[2] == sim.ledger.output_tokens


async def test_a_question_is_answered_by_the_vision_model(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    async with run_bot():
        tg.send_photo(private, ann, make_image("green"), caption="what is in this picture?")
        sent = await tg.wait_for("sendMessage")
    assert sent.params["text"].startswith("I see 1 image: 64x48 green. Echo: what is in this picture?")
    assert "/v1/images/edits" not in paths(sim)
    assert len(classifications(sim)) == 1


async def test_an_album_asking_to_blend_goes_to_midjourney(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    async with run_bot():
        tg.send_album(private, ann, [make_image("red"), make_image("blue")], caption="blend these two")
        await tg.wait_for("sendPhoto", timeout=15)
    assert "/mj/submit/blend" in paths(sim)
    assert "/v1/images/edits" not in paths(sim)


async def test_invalid_json_falls_back_to_an_edit_with_a_log_line(
    *,
    run_bot: RunBot,
    tg: FakeTelegram,
    ann: JSON,
    private: JSON,
    sim: Simulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.handlers.caption")
    async with run_bot():
        tg.send_photo(private, ann, make_image(), caption="what is this? [[invalid-json]]")
        await tg.wait_for("sendPhoto")
    [edit] = [r for r in sim.requests if r.path == "/v1/images/edits"]
    assert edit.form["prompt"] == "what is this? [[invalid-json]]", "the caption as it was"
    assert any("invalid JSON" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("mode", "expected"), [("edit", "/v1/images/edits"), ("ask", "/v1/chat/completions")]
)
async def test_fixed_caption_modes_skip_the_classifier(
    *, run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator, mode: str, expected: str
) -> None:
    async with run_bot(caption_mode=mode):
        tg.send_photo(private, ann, make_image(), caption="what is this?")
        await tg.wait_for("sendPhoto" if mode == "edit" else "sendMessage")
    assert classifications(sim) == []
    assert expected in paths(sim)

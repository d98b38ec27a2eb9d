"""Every handler × every gateway fault: a short honest reply, no usage, and the bot carries on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from simulator import Fault, Simulator
from tests.e2e.images import make_image
from tests.e2e.telegram.conftest import RunBot
from tests.fakes.telegram_api import JSON, FakeTelegram

Send = Callable[[FakeTelegram, dict[str, Any], dict[str, Any]], object]

HANDLERS: dict[str, tuple[str, Send]] = {
    "chat": ("/v1/chat/completions", lambda tg, chat, user: tg.send_text(chat, user, "hello")),
    "edit": (
        "/v1/images/edits",
        lambda tg, chat, user: tg.send_photo(chat, user, make_image(), caption="make it blue"),
    ),
    "image": ("/v1/images/generations", lambda tg, chat, user: tg.send_text(chat, user, "/image a fox")),
    "imagine": ("/mj/submit/imagine", lambda tg, chat, user: tg.send_text(chat, user, "/imagine a fox")),
    "blend": (
        "/mj/submit/blend",
        lambda tg, chat, user: tg.send_album(chat, user, [make_image("red"), make_image("blue")], "/blend"),
    ),
}

FAULTS: dict[str, tuple[dict[str, Any], str]] = {
    "401": ({"kind": "status", "status": 401}, "API key"),
    "429": ({"kind": "status", "status": 429, "retry_after": 9}, "9 s"),
    "500": ({"kind": "status", "status": 500}, "unavailable"),
    "timeout": ({"kind": "timeout", "delay": 3.0}, "too long"),
    "garbage": ({"kind": "garbage"}, "could not read"),
}


@pytest.mark.parametrize("fault_name", list(FAULTS))
@pytest.mark.parametrize("handler", list(HANDLERS))
async def test_fault_becomes_a_short_reply(
    *,
    run_bot: RunBot,
    tg: FakeTelegram,
    ann: JSON,
    private: JSON,
    sim: Simulator,
    handler: str,
    fault_name: str,
) -> None:
    route, send = HANDLERS[handler]
    options, expected = FAULTS[fault_name]
    timeouts = {"chat_timeout": 1.0, "image_timeout": 1.0, "mj_timeout": 1.0}
    async with run_bot(caption_mode="edit", mj_busy_wait=0.01, **timeouts) as app:
        if fault_name == "429" and route.startswith("/mj/"):
            # Midjourney's 429 means "queue full": retried with backoff, so it must persist.
            options = {**options, "times": None}
            expected = "queue is full"
        sim.add_fault(Fault(route=route, **options))
        send(tg, private, ann)
        failure = await tg.wait_for("sendMessage", lambda c: c.params["text"].startswith("⚠️"))
        tg.send_text(private, ann, "still there?")
        await tg.wait_for("sendMessage", lambda c: "still there?" in c.params["text"])
        async with app.services.db.unit_of_work() as uow:
            report = await uow.usage.report(f"tg:{ann['id']}")
    text = failure.params["text"]
    assert expected in text, text
    assert len(text) < 200 and "request id" not in text and "sim-key" not in text
    assert report.totals.requests == 1, "only the recovery chat turn is recorded"
    assert report.by_kind.keys() == {"chat"}

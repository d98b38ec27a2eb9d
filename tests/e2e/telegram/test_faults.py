"""Gateway faults become short, honest replies; the bot stays up and records no usage."""

from __future__ import annotations

import logging

import pytest

from simulator import Fault, Simulator
from tests.e2e.telegram.conftest import TOKEN, RunBot
from tests.fakes.telegram_api import JSON, FakeTelegram

FAULTS = [
    (Fault(route="/v1/chat/completions", kind="status", status=401), "API key was rejected"),
    (Fault(route="/v1/chat/completions", kind="status", status=403), "quota"),
    (Fault(route="/v1/chat/completions", kind="status", status=429, retry_after=7), "Try again in 7 s"),
    (Fault(route="/v1/chat/completions", kind="status", status=500), "unavailable"),
    (Fault(route="/v1/chat/completions", kind="status", status=502), "unavailable"),
    (Fault(route="/v1/chat/completions", kind="timeout", delay=3.0), "took too long"),
    (Fault(route="/v1/chat/completions", kind="garbage"), "could not read"),
    (Fault(route="/v1/chat/completions", kind="html"), "could not read"),
]


@pytest.mark.parametrize(
    ("fault", "expected"),
    FAULTS,
    ids=lambda v: getattr(v, "kind", "") + str(getattr(v, "status", "")) if isinstance(v, Fault) else None,
)
async def test_chat_fault_is_explained_and_bot_recovers(
    *,
    run_bot: RunBot,
    tg: FakeTelegram,
    ann: JSON,
    private: JSON,
    sim: Simulator,
    fault: Fault,
    expected: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with run_bot(chat_timeout=1.0) as app:
        sim.add_fault(fault)
        tg.send_text(private, ann, "first try")
        failure = await tg.wait_for("sendMessage", count=1)
        tg.send_text(private, ann, "second try")
        recovered = await tg.wait_for("sendMessage", count=2)
        async with app.services.db.unit_of_work() as uow:
            report = await uow.usage.report(f"tg:{ann['id']}")
    assert failure.params["text"].startswith("⚠️")
    assert expected in failure.params["text"]
    assert "request id" not in failure.params["text"]
    assert len(failure.params["text"]) < 200, "short"
    assert "second try" in recovered.params["text"]
    assert report.totals.requests == 1, "the failed call records no usage"
    assert "sim-key" not in caplog.text and TOKEN not in caplog.text, "secrets never logged"


async def test_image_and_imagine_faults(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    async with run_bot():
        sim.add_fault(Fault(route="/v1/images/generations", kind="status", status=429, retry_after=30))
        tg.send_text(private, ann, "/image a cat")
        limited = await tg.wait_for("sendMessage", lambda c: "⚠️" in c.params["text"])
        sim.add_fault(Fault(route="/mj/submit/imagine", kind="status", status=401))
        tg.send_text(private, ann, "/imagine a cat")
        auth = await tg.wait_for("sendMessage", lambda c: "API key" in c.params["text"])
        sim.add_fault(Fault(route="/mj/task", kind="garbage", times=3))
        tg.send_text(private, ann, "/imagine a dog")
        await tg.wait_for("sendPhoto", timeout=15)
    assert "30 s" in limited.params["text"]
    assert auth.params["text"].startswith("⚠️") and "rejected" in auth.params["text"]

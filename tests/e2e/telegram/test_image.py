"""/image: gpt-image-1 (b64_json) and dall-e (URL, downloaded at once)."""

from __future__ import annotations

import asyncio

from simulator import Simulator
from tests.e2e.images import decode
from tests.e2e.telegram.conftest import RunBot
from tests.e2e.transactions import WriteTransactions, all_handled
from tests.fakes.telegram_api import JSON, FakeTelegram


async def test_image_command_sends_generated_photo(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    async with run_bot():
        tg.send_text(private, ann, "/image a watercolor fox")
        photo = await tg.wait_for("sendPhoto")
    [request] = [r for r in sim.requests if r.path == "/v1/images/generations"]
    assert request.json == {"model": "gpt-image-1", "prompt": "a watercolor fox", "n": 1}
    assert decode(photo.files["photo"]).format == "PNG"
    assert photo.params["caption"] == "a watercolor fox"


async def test_dalle_url_answer_is_downloaded(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    async with run_bot(image_model="dall-e-3"):
        tg.send_text(private, ann, "/image a lighthouse")
        photo = await tg.wait_for("sendPhoto")
    [request] = [r for r in sim.requests if r.path == "/v1/images/generations"]
    assert request.json["model"] == "dall-e-3" and "response_format" not in request.json, "url answer"
    assert decode(photo.files["photo"]).format == "PNG"


async def test_image_without_prompt_is_a_hint(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    async with run_bot():
        tg.send_text(private, ann, "/image")
        hint = await tg.wait_for("sendMessage")
    assert hint.params["text"].startswith("Usage: /image")
    assert not [r for r in sim.requests if r.path.startswith("/v1/images")]


async def test_an_image_job_commits_four_times_the_least_a_crash_safe_job_can(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON
) -> None:
    """The journal; the job before the paid call; its answer with its usage the moment it
    arrives (also the claim to send it); done, with its update handled, once it is sent."""
    async with run_bot() as app:
        tg.send_text(private, ann, "hello")  # the first message also registers the chat
        await tg.wait_for("sendMessage")
        await all_handled(app)
        writes = WriteTransactions(app.services.db.engine)
        try:
            tg.send_text(private, ann, "/image a watercolor fox")
            await tg.wait_for("sendPhoto")
            await all_handled(app)
            await asyncio.sleep(0.2)  # a late write would land now
        finally:
            writes.close()
    journal, opened, answered, done = writes.of_requests()
    assert journal == {"inbound"}
    assert opened == {"jobs"}
    assert answered >= {"usage_events", "jobs", "job_results"}
    assert done >= {"jobs", "inbound"}

"""/image: gpt-image-1 (b64_json) and dall-e (URL, downloaded at once)."""

from __future__ import annotations

from simulator import Simulator
from tests.e2e.images import decode
from tests.e2e.telegram.conftest import RunBot
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

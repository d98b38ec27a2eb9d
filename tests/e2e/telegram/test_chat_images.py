"""Images through chat on Telegram: image-capable chat models, dall-e-2 edits with a mask."""

from __future__ import annotations

from bot.app import App
from simulator import Simulator
from tests.e2e.gateway_log import chat_completion_bodies
from tests.e2e.images import decode, make_image
from tests.e2e.telegram.conftest import RunBot
from tests.fakes.telegram_api import JSON, FakeTelegram


async def chat_usage(app: App, key: str) -> tuple[int, int]:
    async with app.services.db.unit_of_work() as uow:
        totals = (await uow.usage.report(key)).by_kind["chat"]
    return totals.requests, totals.images


async def test_gpt_4o_image_answer_is_sent_as_a_photo_not_a_link(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    async with run_bot(chat_model="gpt-4o-image") as app:
        tg.send_text(private, ann, "draw a cat")
        photo = await tg.wait_for("sendPhoto")
        usage = await chat_usage(app, f"tg:{private['id']}")
    [body] = chat_completion_bodies(sim)
    assert not body.get("stream") and "tools" not in body, "image models answer whole, without tools"
    assert photo.params["caption"] == "Generating image: a cat"
    assert "http" not in photo.params["caption"]
    assert decode(photo.files["photo"]).size == (64, 64)
    assert tg.calls_of("sendMessage") == []
    assert usage == (1, 1)


async def test_gemini_image_answer_with_a_data_url_is_sent_as_a_photo_and_edited_further(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    async with run_bot(chat_model="gemini-2.5-flash-image-preview"):
        tg.send_photo(private, ann, make_image("red"), caption="/ask make the background green")
        photo = await tg.wait_for("sendPhoto")
        tg.send_text(private, ann, "now add a hat")
        again = await tg.wait_for("sendPhoto", count=2)
    assert photo.params["caption"].startswith("Editing image: make the background green")
    assert "data:" not in photo.params["caption"]
    assert decode(photo.files["photo"]).format == "PNG"
    # The follow-up carries the picture the model made, so it edits that one.
    assert again.params["caption"].startswith("Editing image: now add a hat")
    follow_up = chat_completion_bodies(sim)[-1]
    last = follow_up["messages"][-1]
    assert last["content"][0] == {"type": "text", "text": "now add a hat"}
    assert last["content"][1]["image_url"]["url"].startswith("data:image/jpeg;base64,")
    assert sum("image_url" in str(m["content"]) for m in follow_up["messages"]) == 1, "sent once"
    answers = [m for m in follow_up["messages"] if m["role"] == "assistant"]
    assert answers and "data:" not in str(answers), "remembered as words, not as a data URL"


async def test_dalle2_edit_with_a_mask_sends_square_pngs_of_one_size(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    async with run_bot(edit_model="dall-e-2"):
        tg.send_album(
            private,
            ann,
            [make_image("red", (96, 64)), make_image("white", (96, 64))],
            caption="/mask make the sky purple",
        )
        result = await tg.wait_for("sendPhoto")
    [edit] = [r for r in sim.requests if r.path == "/v1/images/edits"]
    # The simulator accepts only one square PNG under 4 MB and a mask of the same size.
    assert edit.status == 200
    assert edit.form["model"] == "dall-e-2" and edit.form["prompt"] == "make the sky purple"
    files = {f.field: f for f in edit.files}
    assert set(files) == {"image[]", "mask"}
    assert files["image[]"].content_type == files["mask"].content_type == "image/png"
    assert decode(result.files["photo"]).size[0] > 0


async def test_dalle2_needs_one_photo_and_says_so(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    async with run_bot(edit_model="dall-e-2", caption_mode="edit"):
        tg.send_album(private, ann, [make_image(), make_image()], caption="make them blue")
        refusal = await tg.wait_for("sendMessage")
    assert "one photo at a time" in refusal.params["text"]
    assert not any(r.path == "/v1/images/edits" for r in sim.requests)

"""Questions about photos on Telegram: vision parts, albums, and follow-ups that still see them."""

from __future__ import annotations

from simulator import Simulator
from tests.e2e.gateway_log import chat_turn_bodies
from tests.e2e.images import make_image
from tests.e2e.telegram.conftest import BOT_NAME, RunBot
from tests.fakes.telegram_api import JSON, FakeTelegram


def image_parts(message: dict) -> list[str]:
    content = message["content"]
    if isinstance(content, str):
        return []
    return [p["image_url"]["url"] for p in content if p["type"] == "image_url"]


async def test_ask_with_a_photo_is_vision_and_a_follow_up_still_sees_it(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    async with run_bot():
        tg.send_photo(private, ann, make_image("red", (64, 48)), caption="/ask what colour is this?")
        answer = await tg.wait_for("sendMessage", count=1)
        tg.send_text(private, ann, "and is the picture wider than tall?")
        await tg.wait_for("sendMessage", count=2)
    assert answer.params["text"].startswith("I see 1 image: 64x48 red.")
    assert [r.path for r in sim.requests if r.path == "/v1/images/edits"] == [], "/ask never edits"
    first, follow_up = chat_turn_bodies(sim)
    [url] = image_parts(first["messages"][-1])
    assert url.startswith("data:image/jpeg;base64,")
    earlier = [m for m in follow_up["messages"] if image_parts(m)]
    assert len(earlier) == 1 and earlier[0]["role"] == "user", "the photo travels with the follow-up"


async def test_photo_stays_in_context_after_its_turn_left_the_window(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    # A budget of a few short turns: the photo's turn leaves the window quickly.
    async with run_bot(history_token_budget=30, embedding_model=""):
        tg.send_photo(private, ann, make_image("blue", (32, 32)), caption="/ask what is this?")
        await tg.wait_for("sendMessage", count=1)
        for n, text in enumerate(["one more thing to say", "and another thing here", "and a third"], 2):
            tg.send_text(private, ann, text)
            await tg.wait_for("sendMessage", count=n)
        tg.send_text(private, ann, "what colour was the picture?")
        await tg.wait_for("sendMessage", count=5)
    last = chat_turn_bodies(sim)[-1]["messages"]
    pinned = [m for m in last if image_parts(m)]
    assert len(pinned) == 1 and pinned[0]["role"] == "user"
    assert "what is this?" in pinned[0]["content"][0]["text"]
    assert not any(m["content"] == "what is this?" for m in last), "the turn itself left the window"


async def test_album_question_in_a_group_sends_every_photo(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, group: JSON, sim: Simulator
) -> None:
    async with run_bot():
        tg.send_album(
            group,
            ann,
            [make_image("red"), make_image("green", (32, 32))],
            caption=f"/ask@{BOT_NAME} which is bigger?",
        )
        sent = await tg.wait_for("sendMessage")
    assert sent.params["text"].startswith("I see 2 images: 64x48 red, 32x32 green.")
    [body] = chat_turn_bodies(sim)
    assert len(image_parts(body["messages"][-1])) == 2

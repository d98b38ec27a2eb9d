"""Photo edits on Telegram: single photos, albums, files, and every kind of bad input."""

from __future__ import annotations

from simulator import Fault, Simulator
from tests.e2e.images import decode, make_image
from tests.e2e.telegram.conftest import BOT_NAME, RunBot
from tests.fakes.telegram_api import JSON, FakeTelegram


def edit_requests(sim: Simulator) -> list:
    return [r for r in sim.requests if r.path == "/v1/images/edits"]


async def test_captioned_photo_is_edited_and_sent_back_as_photo(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    sim.add_fault(Fault(route="/v1/images/edits", kind="slow_first_byte", delay=0.6))
    async with run_bot():
        update = tg.send_photo(private, ann, make_image("red"), caption="make it blue")
        photo = await tg.wait_for("sendPhoto")
    [request] = edit_requests(sim)
    assert request.form["model"] == "gpt-image-1"
    assert request.form["prompt"] == "make it blue"
    assert [f.field for f in request.files] == ["image[]"]
    assert photo.params["reply_parameters"]["message_id"] == update["message"]["message_id"]
    assert decode(photo.files["photo"]).format == "PNG"
    assert any(c.params["action"] == "upload_photo" for c in tg.calls_of("sendChatAction"))
    status = [c.params["text"] for c in tg.calls_of("editMessageText")]
    assert any("Done" in text for text in status), "the status line reports completion"


async def test_album_becomes_one_edit_with_every_photo(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    colors = ["red", "green", "blue"]
    async with run_bot():
        tg.send_album(private, ann, [make_image(c) for c in colors], caption="put them in a gift basket")
        await tg.wait_for("sendPhoto")
    [request] = edit_requests(sim)
    assert [f.field for f in request.files] == ["image[]"] * 3
    assert request.form["prompt"] == "put them in a gift basket"


async def test_image_sent_as_file_counts_as_photo(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    async with run_bot():
        tg.send_photo(
            private,
            ann,
            make_image("red", fmt="PNG"),
            caption="sharpen",
            as_document=True,
            mime_type="image/png",
        )
        await tg.wait_for("sendPhoto")
    [request] = edit_requests(sim)
    assert request.files[0].content_type == "image/png"


async def test_group_photo_needs_a_mention(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, group: JSON, sim: Simulator
) -> None:
    async with run_bot():
        tg.send_photo(group, ann, make_image(), caption="look at my cat")
        await tg.wait_updates_consumed()
        tg.send_photo(group, ann, make_image(), caption=f"@{BOT_NAME} add a hat")
        await tg.wait_for("sendPhoto")
    [request] = edit_requests(sim)
    assert request.form["prompt"] == "add a hat"


async def test_bad_photo_inputs_get_clear_replies_and_no_gateway_call(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    corrupt = make_image()[:200]  # a truncated JPEG
    async with run_bot():
        tg.send_photo(private, ann, make_image())  # no caption
        no_caption = await tg.wait_for("sendMessage", count=1)
        tg.send_photo(private, ann, corrupt, caption="fix this", as_document=True, mime_type="image/jpeg")
        await tg.wait_for("sendMessage", lambda c: "readable image" in c.params["text"])
        tg.send_photo(private, ann, make_image(), caption="huge one", file_size=30 * 1024 * 1024)
        huge = await tg.wait_for("sendMessage", lambda c: "MB" in c.params["text"])
        tg.send_album(private, ann, [make_image() for _ in range(11)], caption="all of them")
        many = await tg.wait_for("sendMessage", lambda c: "Too many photos" in c.params["text"])
        tg.send_document(private, ann, b"PK\x03\x04", mime_type="application/zip", file_name="x.zip")
        archive = await tg.wait_for("sendMessage", lambda c: "can't read" in c.params["text"])
    assert "what should I change" in no_caption.params["text"]
    assert "30.0 MB" in huge.params["text"]
    assert "11" in many.params["text"]
    assert "application/zip" in archive.params["text"]
    assert edit_requests(sim) == []


async def test_refused_photo_falls_back_to_document(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON
) -> None:
    async with run_bot():
        tg.fail_next("sendPhoto", error_code=400, description="Bad Request: PHOTO_INVALID_DIMENSIONS")
        tg.send_photo(private, ann, make_image(), caption="make it wide")
        document = await tg.wait_for("sendDocument")
    assert decode(document.files["document"]).format == "PNG"


async def test_edit_gateway_fault_edits_status_and_explains(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    from simulator import Fault

    async with run_bot():
        sim.add_fault(Fault(route="/v1/images/edits", kind="status", status=500, times=1))
        tg.send_photo(private, ann, make_image(), caption="make it blue")
        failure = await tg.wait_for("sendMessage", lambda c: "⚠️" in c.params["text"])
        status = await tg.wait_for("editMessageText", lambda c: "Failed" in c.params["text"])
    assert "unavailable" in failure.params["text"].lower()
    assert status.ok

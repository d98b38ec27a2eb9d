"""Images on Discord: edits from attachments and /edit, /image, upload limits, other files."""

from __future__ import annotations

import io

from PIL import Image

from simulator import Simulator
from tests.e2e.discord.conftest import BOT_ID, GENERAL, DiscordWorld, RunBot
from tests.fakes.discord_api import JSON, FileSpec


def png(colour: str, side: int = 48) -> FileSpec:
    out = io.BytesIO()
    Image.new("RGB", (side, side), colour).save(out, "PNG")
    return (f"{colour}.png", out.getvalue(), "image/png")


def noisy_png(side: int = 200) -> FileSpec:
    out = io.BytesIO()
    Image.effect_noise((side, side), 80).convert("RGB").save(out, "PNG")
    return ("noise.png", out.getvalue(), "image/png")


def edit_calls(sim: Simulator) -> list[list[str]]:
    """The field names of the files of every image edit call the simulator received."""
    return [[f.field for f in r.files] for r in sim.requests if r.path == "/v1/images/edits"]


def uploaded(world: DiscordWorld, message: JSON) -> FileSpec:
    (attachment,) = message["attachments"]
    return world.fake.attachment(int(attachment["id"]))


async def test_mention_with_two_images_is_one_edit_with_both(
    world: DiscordWorld, run_bot: RunBot, sim: Simulator
) -> None:
    async with run_bot():
        asked = await world.say(
            GENERAL, f"<@{BOT_ID}> make them blue", attachments=[png("red"), png("green")]
        )
        result = await world.wait_image(GENERAL, after=int(asked["id"]))
        assert edit_calls(sim) == [["image[]", "image[]"]]
        _, data, mime = uploaded(world, result)
        assert mime == "image/png" and data.startswith(b"\x89PNG")
        assert result["message_reference"]["message_id"] == asked["id"]
        status = await world.wait_text(GENERAL, "Editing 2 photos", after=int(asked["id"]))
        await world.wait_until(lambda: "✅ Done" in world.fake.message(int(status["id"]))["content"])


async def test_images_in_a_dm_need_no_mention_and_without_mention_in_a_server_are_ignored(
    world: DiscordWorld, run_bot: RunBot, dm: int, sim: Simulator
) -> None:
    async with run_bot():
        await world.say(GENERAL, "look at my cat", attachments=[png("gray")])
        asked = await world.say(dm, "add a hat", attachments=[png("gray")])
        await world.wait_image(dm, after=int(asked["id"]))
        assert edit_calls(sim) == [["image[]"]]
        assert world.bot_messages(GENERAL) == []


async def test_slash_edit_with_two_attachments(world: DiscordWorld, run_bot: RunBot, sim: Simulator) -> None:
    async with run_bot():
        interaction = await world.slash(
            GENERAL,
            "edit",
            prompt="swap the colours",
            attachments={"image": png("red"), "image2": png("blue")},
        )
        original = await world.wait_until(lambda: interaction.original and interaction.original["content"])
        assert interaction.callback_type == 5
        assert original == "**/edit** swap the colours · 2 images"
        result = await world.wait_image(GENERAL)
        assert edit_calls(sim) == [["image[]", "image[]"]]
        assert result["message_reference"]["message_id"] == str(interaction.original_message_id)


async def test_slash_image(world: DiscordWorld, run_bot: RunBot, sim: Simulator) -> None:
    async with run_bot():
        await world.slash(GENERAL, "image", prompt="a watercolor fox")
        result = await world.wait_image(GENERAL)
        assert result["content"] == "a watercolor fox"  # the caption
        assert [r.path for r in sim.requests].count("/v1/images/generations") == 1
        await world.wait_text(GENERAL, "✅ Done")


async def test_an_image_over_the_upload_limit_is_reencoded_to_fit(
    world: DiscordWorld, run_bot: RunBot, dm: int, sim: Simulator
) -> None:
    world.fake.upload_limit = 4000  # the simulator's edit of a noisy photo is ~8 KB of PNG
    async with run_bot():
        asked = await world.say(dm, "sharpen", attachments=[noisy_png()])
        result = await world.wait_image(dm, after=int(asked["id"]))
        name, data, mime = uploaded(world, result)
        assert name.endswith(".jpg") and mime == "image/jpeg"
        assert len(data) <= world.fake.upload_limit
        refused = [c for c in world.fake.calls if c.status == 413]
        assert refused, "the first, full-size upload should have been refused"


async def test_an_image_that_cannot_fit_is_explained(world: DiscordWorld, run_bot: RunBot, dm: int) -> None:
    world.fake.upload_limit = 200
    async with run_bot():
        asked = await world.say(dm, "sharpen", attachments=[noisy_png()])
        note = await world.wait_text(
            dm, "could not be made small enough to send here", after=int(asked["id"])
        )
        assert note["attachments"] == []
        # And the bot is still fine.
        await world.say(dm, "still there?")
        await world.wait_text(dm, "Echo: still there?")


async def test_other_files_get_a_polite_hint(world: DiscordWorld, run_bot: RunBot, sim: Simulator) -> None:
    async with run_bot():
        await world.say(
            GENERAL,
            f"<@{BOT_ID}> read this",
            attachments=[("archive.zip", b"PK\x03\x04", "application/zip")],
        )
        await world.wait_text(GENERAL, "I can't read ZIP files")
        assert sim.requests == []

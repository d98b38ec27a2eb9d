"""Midjourney on Discord: /imagine and /blend, progress edits, buttons — also across a restart."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from simulator import Simulator
from tests.e2e.discord.conftest import GENERAL, DiscordWorld, RunBot
from tests.e2e.discord.test_images import png

JSON = dict[str, Any]


def buttons_of(message: JSON) -> dict[str, str]:
    """label → custom_id of every button on a message."""
    return {c["label"]: c["custom_id"] for row in message["components"] for c in row["components"]}


def is_grid(message: JSON) -> bool:
    return bool(message["attachments"]) and bool(message["components"])


def submitted(sim: Simulator, path: str) -> list[JSON]:
    return [r.json for r in sim.requests if r.path == path]


@pytest.mark.sim(mj_step_seconds=0.3)  # 1.5 s a task: room for progress edits at a 0.2 s pace
async def test_imagine_shows_progress_then_a_grid_whose_buttons_work(
    world: DiscordWorld, run_bot: RunBot, sim: Simulator
) -> None:
    async with run_bot(progress_edit_interval=0.2):
        interaction = await world.slash(GENERAL, "imagine", prompt="a lighthouse at dawn")
        status = await world.wait_text(GENERAL, "Midjourney imagine: a lighthouse at dawn")
        grid = await world.wait_message(GENERAL, is_grid)
        assert interaction.callback_type == 5
        assert grid["message_reference"]["message_id"] == str(interaction.original_message_id)
        assert grid["content"] == "🎨 a lighthouse at dawn"
        assert submitted(sim, "/mj/submit/imagine")[0]["prompt"] == "a lighthouse at dawn"

        # One status message, edited as the task ran, finally marked done.
        status_id = int(status["id"])
        await world.wait_until(lambda: "✅ done" in world.fake.message(status_id)["content"])
        contents = [v["content"] for v in world.fake.message_versions(status_id)]
        assert len(contents) >= 3, contents
        assert len(set(contents)) == len(contents), "an unchanged edit was sent"
        # Progress edits keep to the configured pace (the final "done" edit may follow sooner).
        edits = [c.at for c in world.fake.calls if c.method == "PATCH" and c.path.endswith(f"/{status_id}")]
        progress_gaps = [b - a for a, b in itertools.pairwise(edits[:-1])]
        assert all(gap >= 0.15 for gap in progress_gaps), progress_gaps

        buttons = buttons_of(grid)
        assert {"U1", "U2", "U3", "U4", "V1", "V2", "V3", "V4", "🔄"} <= set(buttons)
        assert all(custom_id.startswith("mj:") and len(custom_id) <= 100 for custom_id in buttons.values())

        press = await world.press(GENERAL, int(grid["id"]), buttons["U1"])
        upscale = await world.wait_message(GENERAL, lambda m: bool(m["attachments"]), after=int(grid["id"]))
        assert press.callback_type == 6  # deferred update: acknowledged, nothing shown
        assert press.acknowledged_at is not None and press.acknowledged_at - press.sent_at < 3.0
        assert upscale["message_reference"]["message_id"] == grid["id"]
        (action,) = submitted(sim, "/mj/submit/action")
        assert "upsample::1" in action["customId"]
        await world.wait_text(GENERAL, "Midjourney upscale", after=int(grid["id"]))


async def test_buttons_work_after_a_restart(world: DiscordWorld, run_bot: RunBot, sim: Simulator) -> None:
    async with run_bot():
        await world.slash(GENERAL, "imagine", prompt="a red fox")
        grid = await world.wait_message(GENERAL, is_grid)
        await world.wait_text(GENERAL, "✅ done")

    async with run_bot():  # a new client, platform and tracker; the same database
        await world.press(GENERAL, int(grid["id"]), buttons_of(grid)["V2"])
        result = await world.wait_message(GENERAL, is_grid, after=int(grid["id"]))
        assert result["message_reference"]["message_id"] == grid["id"]
        (action,) = submitted(sim, "/mj/submit/action")
        assert "variation::2" in action["customId"]


@pytest.mark.sim(mj_step_seconds=0.5)  # the task takes 2.5 s: still running at the stop
async def test_a_task_running_during_a_restart_is_finished_by_the_new_instance(
    world: DiscordWorld, run_bot: RunBot
) -> None:
    async with run_bot(mj_poll_interval=5.0):  # too slow to see the task finish before the stop
        await world.slash(GENERAL, "imagine", prompt="a quiet harbour")
        status = await world.wait_text(GENERAL, "Midjourney imagine: a quiet harbour")
        await world.settle(0.3)  # let the handler record the status message before the stop
    assert not any(is_grid(m) for m in world.bot_messages(GENERAL))

    async with run_bot():
        await world.wait_message(GENERAL, is_grid)
        await world.wait_until(lambda: "✅ done" in world.fake.message(int(status["id"]))["content"])


async def test_blend(world: DiscordWorld, run_bot: RunBot, sim: Simulator) -> None:
    async with run_bot():
        interaction = await world.slash(
            GENERAL,
            "blend",
            dimensions="portrait",
            attachments={"image1": png("red"), "image2": png("blue")},
        )
        grid = await world.wait_message(GENERAL, is_grid)
        (blend,) = submitted(sim, "/mj/submit/blend")
        assert blend["dimensions"] == "PORTRAIT"
        assert len(blend["base64Array"]) == 2
        assert interaction.original is not None
        assert interaction.original["content"] == "**/blend** portrait · 2 images"
        assert "U1" in buttons_of(grid)


async def test_blend_needs_two_images(world: DiscordWorld, run_bot: RunBot, sim: Simulator) -> None:
    async with run_bot():
        # Discord enforces the required options; a bot must still cope with a file that is not an image.
        await world.slash(
            GENERAL,
            "blend",
            attachments={"image1": png("red"), "image2": ("notes.txt", b"hello", "text/plain")},
        )
        await world.wait_text(GENERAL, "/blend needs 2 to 5 photos")
        assert submitted(sim, "/mj/submit/blend") == []

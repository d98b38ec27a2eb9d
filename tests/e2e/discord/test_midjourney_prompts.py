"""Midjourney /describe and prompts asked for in a dialog (Custom Zoom, remix), on Discord."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from bot.app import App
from simulator import Simulator
from tests.e2e.discord.conftest import GENERAL, GUILD, DiscordWorld, RunBot
from tests.e2e.discord.test_images import png
from tests.e2e.discord.test_midjourney import buttons_of, is_grid, submitted

JSON = dict[str, Any]
ASK = "Midjourney is waiting for a new prompt"


async def kinds(app: App, chat_key: str) -> list[str]:
    async with app.services.db.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT kind FROM usage_events WHERE chat_key = :key ORDER BY created_at"), {"key": chat_key}
        )
        return [row[0] for row in rows]


async def test_describe_lists_four_prompts_whose_buttons_imagine_them(
    world: DiscordWorld, run_bot: RunBot, sim: Simulator
) -> None:
    async with run_bot() as app:
        interaction = await world.slash(GENERAL, "describe", attachments={"image": png("yellow")})
        result = await world.wait_message(
            GENERAL, lambda m: "Imagine 1" in buttons_of(m) if m["components"] else False
        )
        assert (
            interaction.original is not None and interaction.original["content"] == "**/describe** · 1 image"
        )
        assert list(buttons_of(result)) == ["Imagine 1", "Imagine 2", "Imagine 3", "Imagine 4"]
        third = result["content"].split("\n\n")[3]
        assert third.startswith("3. ") and "yellow" in third
        await world.press(GENERAL, int(result["id"]), buttons_of(result)["Imagine 3"])
        grid = await world.wait_message(GENERAL, is_grid, after=int(result["id"]))
        assert grid["message_reference"]["message_id"] == result["id"]
        recorded = await kinds(app, f"dc:{GENERAL}")
    (describe,) = submitted(sim, "/mj/submit/describe")
    assert describe["base64"].startswith("data:image/png;base64,")
    (imagine,) = submitted(sim, "/mj/submit/imagine")
    assert imagine["prompt"] == third.removeprefix("3. ")
    assert recorded == ["mj_describe", "mj_imagine"]


async def test_describe_refuses_a_file_that_is_not_an_image(
    world: DiscordWorld, run_bot: RunBot, sim: Simulator
) -> None:
    async with run_bot():
        await world.slash(GENERAL, "describe", attachments={"image": ("notes.txt", b"hi", "text/plain")})
        await world.wait_text(GENERAL, "I can't read")
    assert submitted(sim, "/mj/submit/describe") == []


async def upscaled(world: DiscordWorld, prompt: str) -> JSON:
    await world.slash(GENERAL, "imagine", prompt=prompt)
    grid = await world.wait_message(GENERAL, is_grid)
    await world.press(GENERAL, int(grid["id"]), buttons_of(grid)["U1"])
    single: JSON = await world.wait_message(GENERAL, is_grid, after=int(grid["id"]))
    return single


async def test_custom_zoom_asks_in_a_dialog_and_submits_the_modal(
    world: DiscordWorld, run_bot: RunBot, sim: Simulator
) -> None:
    async with run_bot() as app:
        single = await upscaled(world, "a tower")
        await world.press(GENERAL, int(single["id"]), buttons_of(single)["Custom Zoom"])
        question = await world.wait_text(GENERAL, ASK, after=int(single["id"]))
        assert "for custom zoom" in question["content"] and "a tower --zoom 2" in question["content"]
        write = buttons_of(question)["✏️ Write the prompt"]

        # Bob may open the dialog, but the question is Alice's.
        opened = await world.fake.press_button(GENERAL, world.bob, int(question["id"]), write, guild_id=GUILD)
        await world.wait_until(lambda: opened.callback_type == 9, what="the dialog")
        await world.fake.submit_modal(GENERAL, world.bob, opened, {"prompt": "bob's idea"}, guild_id=GUILD)
        await world.wait_text(GENERAL, "Only the person who pressed the button", after=int(question["id"]))

        opened = await world.press(GENERAL, int(question["id"]), write)
        await world.wait_until(lambda: opened.callback_type == 9, what="the dialog")
        assert (
            opened.callback_data["custom_id"] == write
            and opened.callback_data["title"] == "Midjourney prompt"
        )
        answer = await world.fake.submit_modal(
            GENERAL, world.alice, opened, {"prompt": "a tower in the clouds --zoom 2"}, guild_id=GUILD
        )
        result = await world.wait_message(GENERAL, is_grid, after=int(question["id"]))
        assert answer.callback_type == 6, "the dialog's submission is acknowledged at once"
        recorded = await kinds(app, f"dc:{GENERAL}")
    (modal,) = submitted(sim, "/mj/submit/modal")
    assert modal["prompt"] == "a tower in the clouds --zoom 2"
    (task,) = [t for t in sim.tasks.values() if t.action == "CUSTOM_ZOOM"]
    assert modal["taskId"] == task.id
    assert "a tower in the clouds" in result["content"]
    assert recorded == ["mj_imagine", "mj_action", "mj_action", "mj_modal"]


async def test_remix_question_is_answered_after_a_restart(
    world: DiscordWorld, run_bot: RunBot, sim: Simulator
) -> None:
    sim.remix = True
    async with run_bot():
        await world.slash(GENERAL, "imagine", prompt="a boat")
        grid = await world.wait_message(GENERAL, is_grid)
        await world.press(GENERAL, int(grid["id"]), buttons_of(grid)["V3"])
        question = await world.wait_text(GENERAL, ASK, after=int(grid["id"]))
        assert "for variation" in question["content"] and "a boat" in question["content"]
    async with run_bot():  # the button names the stored question: it still opens the dialog
        opened = await world.press(GENERAL, int(question["id"]), buttons_of(question)["✏️ Write the prompt"])
        await world.wait_until(lambda: opened.callback_type == 9, what="the dialog")
        await world.fake.submit_modal(
            GENERAL, world.alice, opened, {"prompt": "a boat at sunset"}, guild_id=GUILD
        )
        result = await world.wait_message(GENERAL, is_grid, after=int(question["id"]))
    (modal,) = submitted(sim, "/mj/submit/modal")
    assert modal["prompt"] == "a boat at sunset"
    assert "a boat at sunset" in result["content"]
    (variation,) = [t for t in sim.tasks.values() if t.action == "VARIATION"]
    assert variation.prompt == "a boat at sunset"


@pytest.mark.sim(mj_step_seconds=0.5)  # the task takes 2.5 s: still running at the stop
async def test_a_describe_running_during_a_restart_is_delivered_by_the_new_instance(
    world: DiscordWorld, run_bot: RunBot, sim: Simulator
) -> None:
    async with run_bot(mj_poll_interval=5.0):  # too slow to see the task finish before the stop
        await world.slash(GENERAL, "describe", attachments={"image": png("purple")})
        status = await world.wait_text(GENERAL, "Midjourney describe")
        await world.settle(0.3)  # let the handler record the status message before the stop
    assert not any(m["components"] for m in world.bot_messages(GENERAL))

    async with run_bot():
        result = await world.wait_message(GENERAL, lambda m: bool(m["components"]))
        await world.wait_until(lambda: "✅ done" in world.fake.message(int(status["id"]))["content"])
    assert list(buttons_of(result)) == ["Imagine 1", "Imagine 2", "Imagine 3", "Imagine 4"]
    assert "purple" in result["content"]
    assert len(submitted(sim, "/mj/submit/describe")) == 1, "submitted once, delivered once"


async def test_a_chinese_client_reads_describe_and_its_buttons_in_chinese(
    world: DiscordWorld, run_bot: RunBot, sim: Simulator
) -> None:
    li = world.fake.user(103, "li", locale="zh-CN")
    async with run_bot():
        await world.slash(GENERAL, "describe", user=li, attachments={"image": png("yellow")})
        described = await world.wait_message(
            GENERAL, lambda m: "绘图 1" in buttons_of(m) if m["components"] else False
        )
        commands = {c["name"]: c for c in world.fake.registered_commands[None]}
    assert described["content"].startswith("🖼️ Midjourney 为你的照片推荐了以下提示词")
    assert list(buttons_of(described)) == ["绘图 1", "绘图 2", "绘图 3", "绘图 4"]
    assert (
        commands["describe"]["description_localizations"]["zh-CN"] == "Midjourney：用四条提示词描述一张图片"
    )


async def test_a_chinese_client_reads_the_question_for_a_prompt_and_its_dialog_in_chinese(
    world: DiscordWorld, run_bot: RunBot, sim: Simulator
) -> None:
    sim.remix = True
    li = world.fake.user(103, "li", locale="zh-CN")
    async with run_bot():
        await world.slash(GENERAL, "imagine", user=li, prompt="一条船")
        grid = await world.wait_message(GENERAL, is_grid)
        await world.fake.press_button(GENERAL, li, int(grid["id"]), buttons_of(grid)["V3"], guild_id=GUILD)
        question = await world.wait_text(GENERAL, "Midjourney 正在等待变体的新提示词", after=int(grid["id"]))
        write = buttons_of(question)["✏️ 填写提示词"]
        opened = await world.fake.press_button(GENERAL, li, int(question["id"]), write, guild_id=GUILD)
        await world.wait_until(lambda: opened.callback_type == 9, what="the dialog")
        await world.fake.submit_modal(GENERAL, li, opened, {"prompt": "日落时的一条船"}, guild_id=GUILD)
        await world.wait_message(GENERAL, is_grid, after=int(question["id"]))
    assert "（例如：一条船）" in question["content"]
    assert opened.callback_data["title"] == "Midjourney 提示词"
    assert opened.callback_data["components"][0]["components"][0]["label"] == "新的提示词"
    (modal,) = submitted(sim, "/mj/submit/modal")
    assert modal["prompt"] == "日落时的一条船"

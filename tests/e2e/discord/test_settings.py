"""/model, /system and /mask on Discord: the slash commands added for parity with Telegram."""

from __future__ import annotations

from simulator import Simulator
from tests.e2e.discord.conftest import BOT_ID, GENERAL, DiscordWorld, RunBot
from tests.e2e.discord.test_images import png
from tests.e2e.gateway_log import answered_chat_bodies


async def test_model_lists_choices_as_buttons_and_a_press_switches(
    world: DiscordWorld, run_bot: RunBot, sim: Simulator
) -> None:
    async with run_bot():
        await world.slash(GENERAL, "model")
        menu = await world.wait_text(GENERAL, "This chat uses gpt-4o-mini")
        choices = {c["label"]: c["custom_id"] for row in menu["components"] for c in row["components"]}
        assert len(menu["components"]) <= 5
        other = next(label for label in choices if not label.startswith("✅"))
        await world.press(GENERAL, int(menu["id"]), choices[other])
        await world.wait_text(GENERAL, f"This chat now uses {other}")

        await world.say(GENERAL, f"<@{BOT_ID}> which model?")
        await world.wait_text(GENERAL, "Echo: which model?")
        assert answered_chat_bodies(sim)[-1]["model"] == other


async def test_system_prompt_is_set_per_channel(world: DiscordWorld, run_bot: RunBot, sim: Simulator) -> None:
    async with run_bot():
        await world.slash(GENERAL, "system", prompt="Answer like a pirate.")
        await world.wait_text(GENERAL, "System prompt saved")
        await world.say(GENERAL, f"<@{BOT_ID}> ahoy")
        await world.wait_text(GENERAL, "Echo: ahoy")
        system = answered_chat_bodies(sim)[-1]["messages"][0]
        assert system == {"role": "system", "content": "Answer like a pirate."}

        await world.slash(GENERAL, "system")
        await world.wait_text(GENERAL, "Answer like a pirate.")


async def test_mask_sends_the_photo_and_its_mask(
    world: DiscordWorld, run_bot: RunBot, sim: Simulator
) -> None:
    async with run_bot():
        await world.slash(
            GENERAL, "mask", prompt="a window here", attachments={"image": png("red"), "mask": png("white")}
        )
        await world.wait_image(GENERAL)
        (edit,) = [r for r in sim.requests if r.path == "/v1/images/edits"]
        assert sorted(f.field for f in edit.files) == ["image[]", "mask"]

"""/imagine, /blend, /describe, the buttons under Midjourney results, and prompts asked for."""

from __future__ import annotations

from bot import commands as c
from bot.admission.admission import Permit
from bot.i18n import t
from bot.usecases.attachments import fetch_images
from bot.usecases.context import Request
from bot.usecases.midjourney import MJ_IMAGE_LIMIT, Midjourney


async def handle_imagine(
    cmd: c.Imagine, req: Request, permit: Permit, midjourney: Midjourney, max_image_bytes: int
) -> None:
    references = await fetch_images(cmd.images, min(max_image_bytes, MJ_IMAGE_LIMIT)) if cmd.images else []
    await midjourney.imagine(req, permit, cmd.prompt, references)


async def handle_blend(
    cmd: c.Blend, req: Request, permit: Permit, midjourney: Midjourney, max_image_bytes: int
) -> None:
    photos = await fetch_images(cmd.images, min(max_image_bytes, MJ_IMAGE_LIMIT))
    await midjourney.blend(req, permit, photos, cmd.dimensions)


async def handle_button(cmd: c.MjButtonPress, req: Request, permit: Permit, midjourney: Midjourney) -> None:
    await midjourney.press(req, permit, cmd.task_id, cmd.button)


async def handle_seed(cmd: c.MjSeed, req: Request, midjourney: Midjourney) -> None:
    seed = await midjourney.seed(req, cmd.task_id)
    await req.out.send_text(
        req.tr(t("🌱 Seed of this image: {seed}\nReuse it with --seed {seed} in /imagine.", seed=seed))
    )


async def handle_describe(
    cmd: c.Describe, req: Request, permit: Permit, midjourney: Midjourney, max_image_bytes: int
) -> None:
    [photo] = await fetch_images((cmd.image,), min(max_image_bytes, MJ_IMAGE_LIMIT))
    await midjourney.describe(req, permit, photo)


async def handle_imagine_prompt(
    cmd: c.MjImaginePrompt, req: Request, permit: Permit, midjourney: Midjourney
) -> None:
    await midjourney.imagine_described(req, permit, cmd.task_id, cmd.number)


async def handle_prompt_answer(
    cmd: c.MjPromptAnswer, req: Request, permit: Permit, midjourney: Midjourney
) -> None:
    await midjourney.answer_prompt(req, permit, cmd.request_id, cmd.prompt)

"""/image and /edit (and /mask)."""

from __future__ import annotations

from bot import commands as c
from bot.admission.admission import Permit
from bot.usecases.attachments import fetch_images
from bot.usecases.context import Request
from bot.usecases.images import Images


async def handle_generate(cmd: c.GenerateImage, req: Request, permit: Permit, images: Images) -> None:
    await images.generate(req, permit, cmd.prompt)


async def handle_edit(
    cmd: c.EditImages, req: Request, permit: Permit, images: Images, max_image_bytes: int
) -> None:
    photos = await fetch_images(cmd.images, max_image_bytes)
    mask = (await fetch_images((cmd.mask,), max_image_bytes))[0] if cmd.mask else None
    await images.edit(req, permit, cmd.prompt, photos, mask)

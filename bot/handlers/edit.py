"""Photo edits: one /v1/images/edits call with every photo of the album."""

from __future__ import annotations

import asyncio
import logging

from bot import commands as c
from bot import dalle2
from bot.gateway.client import UploadFile
from bot.handlers.errors import UserError
from bot.handlers.photos import fetch_images
from bot.handlers.progress import slow_work
from bot.imaging import BadImage, CheckedImage
from bot.model import OutImage
from bot.services import Context

log = logging.getLogger(__name__)

DALLE2_PROMPT_LIMIT = 1000


async def handle_edit(cmd: c.EditImages, ctx: Context) -> None:
    await edit_photos(cmd, ctx)


async def edit_photos(cmd: c.EditImages, ctx: Context) -> list[bytes]:
    """Edit, record usage, send; returns the results (the chat's edit tool keeps them)."""
    s = ctx.services
    model = s.settings.edit_model
    checked = await fetch_images(cmd.images, s.settings.max_image_bytes)
    mask = (await fetch_images((cmd.mask,), s.settings.max_image_bytes))[0] if cmd.mask else None
    # Re-encoding photos is slow CPU work: it runs off the event loop.
    if model == "dall-e-2":
        uploads, mask_upload = await asyncio.to_thread(
            _for_dalle2, cmd.prompt, checked, mask, s.settings.dalle2_fit
        )
    else:
        uploads = [
            UploadFile(f"photo{n}.{image.extension}", image.data, image.mime)
            for n, image in enumerate(checked, 1)
        ]
        # gpt-image-1 applies a mask to the first image: a PNG with alpha, of the same size.
        mask_upload = None
        if mask is not None:
            size = (checked[0].width, checked[0].height)
            mask_png = await asyncio.to_thread(dalle2.mask_png, mask.data, size)
            mask_upload = UploadFile("mask.png", mask_png, "image/png")
    what = "your photo" if len(uploads) == 1 else f"{len(uploads)} photos"
    async with slow_work(ctx.out, f"🎨 Editing {what}… this usually takes 30–90 s."):
        result = await s.gateway.edit_images(uploads, cmd.prompt, model, mask=mask_upload)
    await s.ledger.record(s.db, s.ledger.image_event(ctx.msg.address, ctx.msg.user, "image_edit", result))
    await ctx.out.send_images([OutImage(data, f"edited{n}.png") for n, data in enumerate(result.images, 1)])
    return result.images


def _for_dalle2(
    prompt: str, images: list[CheckedImage], mask: CheckedImage | None, fit: dalle2.Fit
) -> tuple[list[UploadFile], UploadFile | None]:
    """dall-e-2 takes one square RGBA PNG under 4 MB, a prompt ≤ 1000 chars, an optional mask."""
    if len(images) > 1:
        raise UserError(
            "This bot edits with dall-e-2, which takes one photo at a time. Send one photo "
            "(or a photo and its mask with /mask)."
        )
    if len(prompt) > DALLE2_PROMPT_LIMIT:
        raise UserError(f"dall-e-2 takes at most {DALLE2_PROMPT_LIMIT} characters of instructions.")
    try:
        image_png, mask_png = dalle2.prepare(images[0].data, mask.data if mask else None, fit=fit)
    except BadImage as exc:
        raise UserError(f"{str(exc).capitalize()}.") from exc
    upload = UploadFile("photo.png", image_png, "image/png")
    return [upload], (UploadFile("mask.png", mask_png, "image/png") if mask_png else None)

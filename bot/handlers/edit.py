"""Photo edits: one /v1/images/edits call with every photo of the album."""

from __future__ import annotations

import logging

from bot import commands as c
from bot.config import CaptionMode
from bot.gateway.client import UploadFile
from bot.handlers.chat import handle_chat
from bot.handlers.photos import fetch_images
from bot.handlers.progress import slow_work
from bot.model import OutImage
from bot.services import Context

log = logging.getLogger(__name__)


async def handle_photo_caption(cmd: c.PhotoCaption, ctx: Context) -> None:
    """A captioned photo: edit it, or answer a question about it (CAPTION_MODE)."""
    if ctx.services.settings.caption_mode is CaptionMode.ASK:
        await handle_chat(c.Chat(cmd.prompt, cmd.images, explicit=True), ctx)
        return
    await handle_edit(c.EditImages(cmd.prompt, cmd.images), ctx)


async def handle_edit(cmd: c.EditImages, ctx: Context) -> None:
    s = ctx.services
    model = s.settings.edit_model
    checked = await fetch_images(cmd.images, s.settings.max_image_bytes)
    uploads = [
        UploadFile(f"photo{n}.{image.extension}", image.data, image.mime)
        for n, image in enumerate(checked, 1)
    ]
    what = "your photo" if len(uploads) == 1 else f"{len(uploads)} photos"
    async with slow_work(ctx.out, f"🎨 Editing {what}… this usually takes 30–90 s."):
        result = await s.gateway.edit_images(uploads, cmd.prompt, model)
    async with s.db.unit_of_work() as uow:
        await s.ledger.add(uow, s.ledger.image_event(ctx.msg.address, ctx.msg.user, "image_edit", result))
        await uow.commit()
    await ctx.out.send_images([OutImage(data, f"edited{n}.png") for n, data in enumerate(result.images, 1)])

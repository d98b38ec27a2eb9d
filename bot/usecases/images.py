"""Drawing and editing pictures: one gateway call each, recorded, then sent to the chat.

Used by /image and /edit, by captioned photos, and by the chat model's tools: all of them
arrive here admitted, with their permit's hold.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from bot import dalle2
from bot.admission.admission import Permit
from bot.errors import UserError
from bot.gateway.client import GatewayClient, UploadFile
from bot.imaging import CheckedImage
from bot.model import OutImage
from bot.usage.recorder import Recorder
from bot.usecases.context import Request
from bot.usecases.progress import slow_work

log = logging.getLogger(__name__)

DALLE2_PROMPT_LIMIT = 1000


@dataclass(frozen=True)
class ImageModels:
    generate: str
    edit: str
    dalle2_fit: dalle2.Fit = "crop"


class Images:
    def __init__(self, gateway: GatewayClient, recorder: Recorder, models: ImageModels) -> None:
        self._gateway = gateway
        self._recorder = recorder
        self._models = models

    async def generate(self, req: Request, permit: Permit, prompt: str) -> list[bytes]:
        """Draw, record usage, send; returns the images (the chat keeps them in memory)."""
        model = self._models.generate
        async with slow_work(req.out, "🖌️ Drawing… this usually takes 20–60 s."):
            result = await self._gateway.generate_image(prompt, model)
        await self._recorder.record(
            self._recorder.ledger.image_event(req.msg.address, req.msg.user, "image_generation", result),
            permit.hold,
        )
        await req.out.send_images(
            [OutImage(data, f"image{n}.png") for n, data in enumerate(result.images, 1)],
            caption=prompt[:200],
        )
        return result.images

    async def edit(
        self,
        req: Request,
        permit: Permit,
        prompt: str,
        images: Sequence[CheckedImage],
        mask: CheckedImage | None = None,
    ) -> list[bytes]:
        """Edit checked photos with one call, record usage, send; returns the results."""
        model = self._models.edit
        # Re-encoding photos is slow CPU work: it runs off the event loop.
        if model == "dall-e-2":
            uploads, mask_upload = await asyncio.to_thread(
                _for_dalle2, prompt, images, mask, self._models.dalle2_fit
            )
        else:
            uploads = [
                UploadFile(f"photo{n}.{image.extension}", image.data, image.mime)
                for n, image in enumerate(images, 1)
            ]
            # gpt-image-1 applies a mask to the first image: a PNG with alpha, of the same size.
            mask_upload = None
            if mask is not None:
                size = (images[0].width, images[0].height)
                mask_png = await asyncio.to_thread(dalle2.mask_png, mask.data, size)
                mask_upload = UploadFile("mask.png", mask_png, "image/png")
        what = "your photo" if len(uploads) == 1 else f"{len(uploads)} photos"
        async with slow_work(req.out, f"🎨 Editing {what}… this usually takes 30–90 s."):
            result = await self._gateway.edit_images(uploads, prompt, model, mask=mask_upload)
        await self._recorder.record(
            self._recorder.ledger.image_event(req.msg.address, req.msg.user, "image_edit", result),
            permit.hold,
        )
        await req.out.send_images(
            [OutImage(data, f"edited{n}.png") for n, data in enumerate(result.images, 1)]
        )
        return result.images


def _for_dalle2(
    prompt: str, images: Sequence[CheckedImage], mask: CheckedImage | None, fit: dalle2.Fit
) -> tuple[list[UploadFile], UploadFile | None]:
    """dall-e-2 takes one square RGBA PNG under 4 MB, a prompt ≤ 1000 chars, an optional mask."""
    if len(images) > 1:
        raise UserError(
            "This bot edits with dall-e-2, which takes one photo at a time. Send one photo "
            "(or a photo and its mask with /mask)."
        )
    if len(prompt) > DALLE2_PROMPT_LIMIT:
        raise UserError(f"dall-e-2 takes at most {DALLE2_PROMPT_LIMIT} characters of instructions.")
    image_png, mask_png = dalle2.prepare(images[0].data, mask.data if mask else None, fit=fit)
    upload = UploadFile("photo.png", image_png, "image/png")
    return [upload], (UploadFile("mask.png", mask_png, "image/png") if mask_png else None)

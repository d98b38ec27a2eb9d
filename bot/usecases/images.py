"""Drawing and editing pictures: one gateway call each, recorded, then sent to the chat.

Used by /image and /edit, by captioned photos, and by the chat model's tools: all of them
arrive here admitted, with their permit's hold. Each call is a durable job
(bot.lifecycle.jobs): opened before the call, its pictures stored with its usage the
moment the gateway answers, then sent, and marked done together with the update that asked
for it — a crash anywhere leaves it to be delivered (or answered) on the next start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass

from bot import dalle2
from bot.admission.admission import Permit
from bot.errors import GatewayError, UserError
from bot.gateway.client import GatewayClient, UploadFile
from bot.gateway.types import ImageResult
from bot.i18n import t
from bot.imaging import CheckedImage
from bot.lifecycle.jobs import Job, Jobs
from bot.model import Outbox, OutImage, Receipt, SentMessage
from bot.usage.recorder import Recorder
from bot.usecases.context import Request
from bot.usecases.progress import slow_work
from storage import Database, JobResult

log = logging.getLogger(__name__)

DALLE2_PROMPT_LIMIT = 1000
IMAGE_GENERATION = "image_generation"
IMAGE_EDIT = "image_edit"


@dataclass(frozen=True)
class ImageModels:
    generate: str
    edit: str
    dalle2_fit: dalle2.Fit = "crop"


class Images:
    def __init__(
        self, gateway: GatewayClient, db: Database, recorder: Recorder, jobs: Jobs, models: ImageModels
    ) -> None:
        self._gateway = gateway
        self._db = db
        self._recorder = recorder
        self._jobs = jobs
        self._models = models

    async def generate(self, req: Request, permit: Permit, prompt: str) -> list[bytes]:
        """Draw, record usage, send; returns the images (the chat keeps them in memory)."""
        model = self._models.generate
        job = await self._jobs.open(req.msg, req.keys, IMAGE_GENERATION, prompt)
        async with slow_work(req.out, req.tr, t("🖌️ Drawing… this usually takes 20–60 s.")):
            result = await self._call(job, self._gateway.generate_image(prompt, model))
        if await self._answered(req, permit, job, result, IMAGE_GENERATION):
            await deliver_images(
                self._jobs, job, req.out, result.images, caption=prompt[:200], receipt=req.msg.receipt
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
        status = (
            t("🎨 Editing your photo… this usually takes 30–90 s.")
            if len(uploads) == 1
            else t("🎨 Editing {n} photos… this usually takes 30–90 s.", n=len(uploads))
        )
        job = await self._jobs.open(req.msg, req.keys, IMAGE_EDIT, prompt)
        async with slow_work(req.out, req.tr, status):
            result = await self._call(
                job, self._gateway.edit_images(uploads, prompt, model, mask=mask_upload)
            )
        if await self._answered(req, permit, job, result, IMAGE_EDIT):
            await deliver_images(self._jobs, job, req.out, result.images, receipt=req.msg.receipt)
        return result.images

    async def _call(self, job: Job, call: Awaitable[ImageResult]) -> ImageResult:
        try:
            return await call
        except GatewayError:
            await self._jobs.finish(job, "failed")  # the user is told by the core
            raise

    async def _answered(self, req: Request, permit: Permit, job: Job, result: ImageResult, kind: str) -> bool:
        """The answer's usage and pictures in one short transaction, before anything else;
        True if this instance sends them (see `Jobs.answered`)."""
        event = self._recorder.ledger.image_event(req.msg.address, req.msg.user, kind, result)
        results = [JobResult("image/png", image) for image in result.images]
        async with self._db.unit_of_work() as uow:
            await self._recorder.add(uow, event, permit.hold)
            mine = await self._jobs.answered(uow, job, result.request_id, results)
            await uow.commit()
        if not mine:
            log.warning("job %s was taken over by another instance, which answers it; not sent here", job.id)
        return mine


async def deliver_images(
    jobs: Jobs,
    job: Job,
    out: Outbox,
    images: Sequence[bytes],
    *,
    caption: str = "",
    receipt: Receipt | None = None,
) -> SentMessage:
    """Send the job's pictures and mark it done (and the `receipt`'s updates handled)."""
    name = "image" if job.kind == IMAGE_GENERATION else "edited"
    sent = await out.send_images(
        [OutImage(data, f"{name}{n}.png") for n, data in enumerate(images, 1)], caption=caption
    )
    await jobs.delivered(job, sent.message_id, receipt)
    return sent


def _for_dalle2(
    prompt: str, images: Sequence[CheckedImage], mask: CheckedImage | None, fit: dalle2.Fit
) -> tuple[list[UploadFile], UploadFile | None]:
    """dall-e-2 takes one square RGBA PNG under 4 MB, a prompt ≤ 1000 chars, an optional mask."""
    if len(images) > 1:
        raise UserError(
            t(
                "This bot edits with dall-e-2, which takes one photo at a time. Send one photo "
                "(or a photo and its mask with /mask)."
            )
        )
    if len(prompt) > DALLE2_PROMPT_LIMIT:
        raise UserError(
            t("dall-e-2 takes at most {limit} characters of instructions.", limit=DALLE2_PROMPT_LIMIT)
        )
    image_png, mask_png = dalle2.prepare(images[0].data, mask.data if mask else None, fit=fit)
    upload = UploadFile("photo.png", image_png, "image/png")
    return [upload], (UploadFile("mask.png", mask_png, "image/png") if mask_png else None)

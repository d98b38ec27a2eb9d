"""Chat messages, captioned photos, and /new."""

from __future__ import annotations

import logging

from bot import commands as c
from bot.admission.admission import Admission, Permit
from bot.config import CaptionMode
from bot.usecases.attachments import fetch_images, within
from bot.usecases.caption import Classifier, Decision
from bot.usecases.chat import ChatTurns
from bot.usecases.context import Request
from bot.usecases.images import Images
from bot.usecases.midjourney import MJ_IMAGE_LIMIT, Midjourney

log = logging.getLogger(__name__)


async def handle_chat(
    cmd: c.Chat, req: Request, permit: Permit, turns: ChatTurns, max_image_bytes: int
) -> None:
    photos = await fetch_images(cmd.images, max_image_bytes) if cmd.images else []
    await turns.answer(req, permit, cmd.prompt, photos)


async def handle_new_conversation(req: Request, turns: ChatTurns) -> None:
    await turns.new_conversation(req)


async def handle_photo_caption(
    cmd: c.PhotoCaption,
    req: Request,
    permit: Permit,
    *,
    mode: CaptionMode,
    classifier: Classifier,
    turns: ChatTurns,
    images: Images,
    midjourney: Midjourney,
    admission: Admission,
    max_image_bytes: int,
) -> None:
    """An edit, a question about the photos, or a blend: CAPTION_MODE, or the classifier decides.

    The photos are fetched and checked first: a corrupt or fake one costs no classifier call.
    """
    photos = await fetch_images(cmd.images, max_image_bytes)
    if mode is CaptionMode.ASK:
        decision = Decision("question", cmd.prompt)
    elif mode is CaptionMode.EDIT:
        decision = Decision("edit", cmd.prompt)
    else:
        decision = await classifier.classify(req, permit, cmd.prompt, len(photos))
    log.info("caption in %s treated as %s", req.msg.address.key, decision.intent)
    if decision.intent == "question":
        # The original caption: the question is the user's, word for word.
        await turns.answer(req, permit, cmd.prompt, photos)
    elif decision.intent == "blend" and 2 <= len(photos) <= 5:
        # Admission reserved a question or an edit; a blend is a Midjourney task, with its own limits.
        blend = c.Blend(cmd.images)
        async with admission.admit(req.msg, blend, chat_model=req.chat.model) as blend_permit:
            await midjourney.blend(req, blend_permit, within(photos, MJ_IMAGE_LIMIT), blend.dimensions)
    else:
        await images.edit(req, permit, decision.prompt, photos)

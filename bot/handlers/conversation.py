"""Chat messages, captioned photos, and /new."""

from __future__ import annotations

import logging

from bot import commands as c
from bot.admission.admission import Admission, Permit
from bot.admission.permissions import Permissions, Role
from bot.chat.quotes import QUOTED_IMAGES, with_quote
from bot.config import CaptionMode
from bot.usecases.attachments import fetch_images, within
from bot.usecases.caption import Classifier, Decision
from bot.usecases.chat import ChatTurns
from bot.usecases.context import Request
from bot.usecases.documents import DocumentLimits, with_documents
from bot.usecases.images import Images
from bot.usecases.midjourney import MJ_IMAGE_LIMIT, Midjourney

log = logging.getLogger(__name__)


async def handle_chat(
    cmd: c.Chat,
    req: Request,
    permit: Permit,
    turns: ChatTurns,
    *,
    max_image_bytes: int,
    documents: DocumentLimits,
) -> str:
    """The answer's text (for reading it aloud); files and photos are checked before any call."""
    prompt = await with_documents(cmd.prompt, cmd.documents, documents)
    quoted = req.msg.quoted
    images = cmd.images + (quoted.images[:QUOTED_IMAGES] if quoted else ())
    photos = await fetch_images(images, max_image_bytes) if images else []
    if quoted is not None:
        prompt = with_quote(prompt, quoted, min(len(quoted.images), QUOTED_IMAGES))
        log.info("question in %s replies to a message from %s", req.msg.address.key, quoted.author)
    return await turns.answer(req, permit, prompt, photos)


async def handle_regenerate(cmd: c.Regenerate, req: Request, permit: Permit, turns: ChatTurns) -> None:
    await turns.regenerate(req, permit, cmd.answer_key)


async def handle_continue(cmd: c.ContinueAnswer, req: Request, permit: Permit, turns: ChatTurns) -> None:
    await turns.continue_answer(req, permit, cmd.answer_key)


async def handle_stop(cmd: c.StopAnswer, req: Request, turns: ChatTurns, permissions: Permissions) -> None:
    async def is_chat_admin() -> bool:
        return await permissions.role(req.msg, req.out) >= Role.CHAT_ADMIN

    await turns.stop(req, cmd.answer_key, is_chat_admin)


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

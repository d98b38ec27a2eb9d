"""Fetching and checking the photos a user attached."""

from __future__ import annotations

import asyncio
import logging

from bot.errors import AttachmentUnavailable, BadImage, UserError
from bot.i18n import t
from bot.imaging import CheckedImage, check_image, megabytes
from bot.model import ImageAttachment

log = logging.getLogger(__name__)


async def fetch_images(attachments: tuple[ImageAttachment, ...], max_bytes: int) -> list[CheckedImage]:
    """Download every attachment (in parallel) and check it decodes; refuse with a reason.

    Runs before any paid call: a corrupt or fake photo costs nothing.
    """
    for number, attachment in enumerate(attachments, 1):
        if attachment.size is not None and attachment.size > max_bytes:
            raise BadImage(
                t(
                    "Photo {number} is {size} MB; the limit is {limit} MB.",
                    number=number,
                    size=megabytes(attachment.size, 1),
                    limit=megabytes(max_bytes, 0),
                )
            )
    try:
        blobs = await asyncio.gather(*(attachment.fetch() for attachment in attachments))
    except UserError:
        raise
    except Exception as exc:
        log.warning("photo download failed: %s", type(exc).__name__)
        raise AttachmentUnavailable(t("I couldn't download your photo. Please send it again.")) from exc
    checked = []
    for number, blob in enumerate(blobs, 1):
        try:
            # A full decode of a big photo takes long enough to stall every other chat.
            checked.append(await asyncio.to_thread(check_image, blob, max_bytes=max_bytes))
        except BadImage as exc:
            if len(blobs) == 1:
                raise
            raise BadImage(t("Photo {number}: {problem}", number=number, problem=exc.text)) from exc
    return checked


def within(photos: list[CheckedImage], max_bytes: int) -> list[CheckedImage]:
    """The photos, if each is at most `max_bytes` (a tighter limit than the one they were fetched under)."""
    for number, photo in enumerate(photos, 1):
        if len(photo.data) > max_bytes:
            raise BadImage(
                t(
                    "Photo {number} is {size} MB; the limit here is {limit} MB.",
                    number=number,
                    size=megabytes(len(photo.data), 1),
                    limit=megabytes(max_bytes, 0),
                )
            )
    return photos

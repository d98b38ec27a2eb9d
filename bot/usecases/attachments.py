"""Fetching and checking the photos a user attached."""

from __future__ import annotations

import asyncio
import logging

from bot.handlers.errors import UserError
from bot.imaging import BadImage, CheckedImage, check_image
from bot.model import ImageAttachment

log = logging.getLogger(__name__)


async def fetch_images(attachments: tuple[ImageAttachment, ...], max_bytes: int) -> list[CheckedImage]:
    """Download every attachment (in parallel) and check it decodes; refuse with a reason."""
    for number, attachment in enumerate(attachments, 1):
        if attachment.size is not None and attachment.size > max_bytes:
            raise UserError(
                f"Photo {number} is {attachment.size / 1_048_576:.1f} MB; "
                f"the limit is {max_bytes / 1_048_576:.0f} MB."
            )
    try:
        blobs = await asyncio.gather(*(attachment.fetch() for attachment in attachments))
    except UserError:
        raise
    except Exception as exc:
        log.warning("photo download failed: %s", type(exc).__name__)
        raise UserError("I couldn't download your photo. Please send it again.") from exc
    checked = []
    for number, blob in enumerate(blobs, 1):
        try:
            # A full decode of a big photo takes long enough to stall every other chat.
            checked.append(await asyncio.to_thread(check_image, blob, max_bytes=max_bytes))
        except BadImage as exc:
            prefix = f"Photo {number}: " if len(blobs) > 1 else ""
            raise UserError(f"{prefix}{str(exc).capitalize()}.") from exc
    return checked

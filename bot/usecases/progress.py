"""A status line for slow work: shown at once, updated when the work ends."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.model import Activity, Outbox, SentMessage

log = logging.getLogger(__name__)


@asynccontextmanager
async def slow_work(
    out: Outbox, text: str, activity: Activity = Activity.UPLOAD_PHOTO
) -> AsyncIterator[None]:
    """Post `text`, keep the chat action alive, then say how it ended."""
    started = time.monotonic()
    note = await out.send_text(text)
    try:
        async with out.activity(activity):
            yield
    except BaseException:
        await _edit(out, note, f"{text}\n❌ Failed after {time.monotonic() - started:.0f} s.")
        raise
    await _edit(out, note, f"{text}\n✅ Done in {time.monotonic() - started:.0f} s.")


async def _edit(out: Outbox, note: SentMessage, text: str) -> None:
    try:
        await out.edit_text(note, text)
    except Exception:
        # The status line is a courtesy; the result itself was (or will be) sent anyway.
        log.warning("could not update the status message in %s", out.address.key)

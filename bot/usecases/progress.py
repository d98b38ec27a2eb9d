"""A status line for slow work: shown at once, updated when the work ends."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.i18n import Text, Tr, t
from bot.model import Activity, Outbox, SentMessage

log = logging.getLogger(__name__)


@asynccontextmanager
async def slow_work(
    out: Outbox, tr: Tr, status: Text, activity: Activity = Activity.UPLOAD_PHOTO
) -> AsyncIterator[None]:
    """Post `status`, keep the chat action alive, then say how it ended."""
    started = time.monotonic()
    note = await out.send_text(tr(status))
    try:
        async with out.activity(activity):
            yield
    except BaseException:
        seconds = round(time.monotonic() - started)
        await _edit(
            out, note, tr(t("{status}\n❌ Failed after {seconds} s.", status=status, seconds=seconds))
        )
        raise
    seconds = round(time.monotonic() - started)
    await _edit(out, note, tr(t("{status}\n✅ Done in {seconds} s.", status=status, seconds=seconds)))


async def _edit(out: Outbox, note: SentMessage, text: str) -> None:
    try:
        await out.edit_text(note, text)
    except Exception:
        # The status line is a courtesy; the result itself was (or will be) sent anyway.
        log.warning("could not update the status message in %s", out.address.key)

"""Finishing what a gone instance left behind: nothing lost, nothing doubled.

Run once at start (after the platforms are attached) and then every so often, so that a
replica also takes over when another one dies. For every instance that is gone:

* its budget reservations are released at once;
* its open jobs are claimed and finished: an answered picture job is delivered from its
  stored result; a job cut off before its answer is answered in its chat, saying honestly
  that it may have been charged;
* its journaled updates that were never handled are handled now — unless they had
  started a job, which the previous step answers (an update is never handled twice).
  One whose replay fails before it is handled (the platform still unreachable, say) is
  tried again every round for a while; after that it is left in the journal, and the
  start after this instance's end handles it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

from bot.i18n import Text, t
from bot.lifecycle.instance import Instance
from bot.lifecycle.jobs import Job, Jobs
from bot.model import ChatAddress, Messenger, Outbox, OutImage
from bot.usecases.chat import ANSWER_TEXT, CHAT_IMAGES, CHAT_TOOLS, send_pictured
from bot.usecases.images import IMAGE_EDIT, IMAGE_GENERATION, deliver_images
from bot.usecases.languages import Languages
from storage import Database, InboundUpdate, JobRecord

log = logging.getLogger(__name__)

EVERY_SECONDS = 15.0
REPLAY_ATTEMPTS = 8  # one per round: two minutes of trying
Replay = Callable[[InboundUpdate], Awaitable[None]]

_PICTURE_INTERRUPTED = t(
    "⚠️ Your picture («{request}») was interrupted by a restart. It may have been charged; "
    "please send the request again."
)
_INTERRUPTED: dict[str, Text] = {
    IMAGE_GENERATION: _PICTURE_INTERRUPTED,
    CHAT_IMAGES: _PICTURE_INTERRUPTED,  # an image model's answer is a picture too
    IMAGE_EDIT: t(
        "⚠️ Your photo edit («{request}») was interrupted by a restart. It may have been charged; "
        "please send it again."
    ),
    "mj_imagine": t(
        "⚠️ Your Midjourney request («{request}») was interrupted by a restart before its task was "
        "stored. It may have been charged; please send it again."
    ),
    "mj_blend": t(
        "⚠️ Your Midjourney blend («{request}») was interrupted by a restart before its task was "
        "stored. It may have been charged; please send it again."
    ),
    "mj_action": t(
        "⚠️ Your Midjourney button press («{request}») was interrupted by a restart before its task "
        "was stored. It may have been charged; please press it again."
    ),
    "mj_describe": t(
        "⚠️ Your Midjourney /describe was interrupted by a restart before its task was "
        "stored. It may have been charged; please send the photo again."
    ),
    "mj_modal": t(
        "⚠️ Your Midjourney prompt («{request}») was interrupted by a restart before Midjourney took it. "
        "It may have been charged; please press the button under the picture again."
    ),
    CHAT_TOOLS: t("⚠️ My answer to «{request}» was interrupted by a restart. Please ask again."),
}


class Recovery:
    def __init__(
        self,
        db: Database,
        instance: Instance,
        jobs: Jobs,
        messengers: Mapping[str, Messenger],
        replays: Mapping[str, Replay],
        *,
        languages: Languages,
    ) -> None:
        self._db = db
        self._languages = languages
        self._instance = instance
        self._jobs = jobs
        self._messengers = messengers
        self._replays = replays
        # Replays that failed, by (platform, update id): the update and the attempts made.
        self._failed: dict[tuple[str, str], tuple[InboundUpdate, int]] = {}

    async def run(self) -> None:
        while True:
            try:
                await self.once()
            except Exception:
                log.exception("recovery round failed")
            await asyncio.sleep(EVERY_SECONDS)

    async def once(self) -> None:
        await self._replay_failed()  # first: what fails below waits for the next round
        gone = await self._instance.gone()
        if gone:
            await self._take_over(gone)

    async def _take_over(self, gone: frozenset[str]) -> None:
        me = self._instance.id
        async with self._db.unit_of_work() as uow:
            released = await uow.budgets.release_owned_by(gone)
            await uow.slots.release_owned_by(gone)
            jobs = await uow.jobs.claim_orphans(gone, me, platforms=list(self._messengers))
            await uow.commit()
        if released:
            log.info("released %d budget reservation(s) of gone instances", released)
        for job in jobs:
            try:
                await self._finish(job)
            except Exception:
                log.exception("could not finish job %s after a restart", job.id)
        for platform, replay in self._replays.items():
            await self._replay(platform, replay, gone)
        await self._instance.forget(gone)

    async def _finish(self, record: JobRecord) -> None:
        out = self._outbox(record)
        job = Job(record.id, record.kind, record.summary)
        if record.kind in (IMAGE_GENERATION, IMAGE_EDIT) and record.state in ("answered", "delivering"):
            # Claimed above, so sent from here only. A send the crash cut off is tried again:
            # at worst once more, never silently lost.
            async with self._db.unit_of_work() as uow:
                results = await uow.jobs.results(record.id)
            caption = record.summary[:200] if record.kind == IMAGE_GENERATION else ""
            await deliver_images(self._jobs, job, out, [r.data for r in results], caption=caption)
            log.info("job %s delivered after a restart", record.id)
            return
        if record.kind == CHAT_IMAGES and record.state == "answered":
            await self._deliver_answer(job, out)
            return
        text = _INTERRUPTED.get(record.kind, t("⚠️ Your request («{request}») was interrupted by a restart."))
        tr = await self._languages.tr_for_user(record.platform, record.user_id, record.chat_key)
        await out.send_text(tr(Text(text.msgid, (("request", _short(record.summary)),))))
        await self._jobs.finish(job, "interrupted")
        log.info("job %s (%s) answered as interrupted", record.id, record.kind)

    async def _deliver_answer(self, job: Job, out: Outbox) -> None:
        """An image model's answer, stored before it was sent: sent as the live turn would."""
        async with self._db.unit_of_work() as uow:
            results = await uow.jobs.results(job.id)
        text = "".join(r.data.decode() for r in results if r.mime == ANSWER_TEXT)
        pictures = [
            OutImage(r.data, f"answer{n}.{r.mime.rsplit('/', 1)[-1]}", r.mime)
            for n, r in enumerate((r for r in results if r.mime != ANSWER_TEXT), 1)
        ]
        sent = await send_pictured(out, text, pictures) if text or pictures else None
        await self._jobs.delivered(job, sent.message_id if sent else None)
        log.info("job %s delivered after a restart", job.id)

    async def _replay(self, platform: str, replay: Replay, gone: frozenset[str]) -> None:
        async with self._db.unit_of_work() as uow:
            updates = await uow.inbound.claim_orphans(platform, gone, self._instance.id)
            await uow.commit()
        for update in updates:
            await self._handle(platform, replay, update, attempts=0)

    async def _replay_failed(self) -> None:
        """Failed replays again: claimed by this instance, nobody else would try them."""
        for (platform, update_id), (update, attempts) in list(self._failed.items()):
            async with self._db.unit_of_work() as uow:
                still = await uow.inbound.unhandled(platform, [update_id])
            del self._failed[platform, update_id]  # _handle puts it back if it fails again
            if still:
                await self._handle(platform, self._replays[platform], update, attempts)

    async def _handle(self, platform: str, replay: Replay, update: InboundUpdate, attempts: int) -> None:
        started = await self._jobs.of_source(f"{platform}:{update.update_id}")
        if started and not _answer_stored(started):
            # Its jobs were answered above; handling it again could pay twice.
            async with self._db.unit_of_work() as uow:
                await uow.inbound.handled(platform, [update.update_id])
                await uow.commit()
            return
        log.info("handling %s update %s left by a gone instance", platform, update.update_id)
        try:
            await replay(update)
        except Exception:
            attempts += 1
            if attempts < REPLAY_ATTEMPTS:
                log.warning(
                    "could not replay %s update %s (attempt %d); trying again in %g s",
                    platform,
                    update.update_id,
                    attempts,
                    EVERY_SECONDS,
                    exc_info=True,
                )
                self._failed[platform, update.update_id] = (update, attempts)
            else:
                log.exception(
                    "could not replay %s update %s after %d attempts; it stays in the journal "
                    "for the next start",
                    platform,
                    update.update_id,
                    attempts,
                )

    def _outbox(self, record: JobRecord) -> Outbox:
        address = ChatAddress(record.platform, record.chat_id, thread_id=record.thread_id)
        return self._messengers[record.platform].outbox_for(address, record.reply_to_message_id)


def _answer_stored(jobs: list[JobRecord]) -> bool:
    """A chat turn that ran tools ended with its answer stored, not yet sent: the replay
    finds that answer and sends it (bot.usecases.chat), without paying for anything again."""
    return any(job.kind == CHAT_TOOLS and job.state == "done" for job in jobs)


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"

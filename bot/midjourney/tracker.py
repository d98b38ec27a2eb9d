"""Following Midjourney tasks to the end: progress edits, result image, buttons.

Tasks live in the database from the moment they are submitted. Each round, this instance
leases the unfinished tasks nobody else follows (storage.mj_tasks.claim: free, lapsed, or
held by an instance that is gone) and polls them, batched into one list-by-condition call
when several are running. Only the lease holder edits progress and delivers; before it
sends the result it renews the lease, and the delivery is marked only while the lease is
still its own. So after a crash, and with several replicas, every task is followed — and
its grid sent — by exactly one instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.errors import GatewayError
from bot.gateway.client import GatewayClient
from bot.gateway.types import MjTask
from bot.i18n import Catalog, Lang, Tr, t
from bot.lifecycle.instance import Instance
from bot.midjourney.view import (
    ask_prompt_text,
    button_rows,
    describe_buttons,
    describe_text,
    described_prompts,
    done_text,
    modal_example,
    status_text,
)
from bot.model import ChatAddress, Messenger, Outbox, OutImage, SentMessage
from bot.observability.metrics import Metrics
from bot.router import ask_payload
from storage import Database, MjButton, MjTaskRecord
from storage.clock import utc_now

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrackerTiming:
    poll_interval: float = 5.0
    task_deadline: float = 20 * 60.0
    # Telegram allows roughly one edit per second per chat; groups get less.
    progress_edit_interval: float = 3.0
    # A lease outlives a few missed rounds; a dead owner loses it at once anyway.
    lease: float = 60.0
    # The submitting handler posts a task's status message, then stores its id and wakes the
    # tracker, which leaves the task alone until then (or it would post a second one, or
    # finish the task leaving the first at "queued"). Past this age a task without one (its
    # handler died or could not post) is tracked anyway.
    status_grace: float = 10.0


GAVE_UP = t("⌛ Midjourney did not finish in time; giving up.")


def _lang(value: str | None) -> Lang:
    try:
        return Lang(value) if value else Lang.EN
    except ValueError:
        return Lang.EN


class MjTracker:
    def __init__(
        self,
        gateway: GatewayClient,
        db: Database,
        instance: Instance,
        timing: TrackerTiming,
        metrics: Metrics,
        *,
        catalog: Catalog,
    ) -> None:
        self._gateway = gateway
        self._catalog = catalog
        self._metrics = metrics
        self._db = db
        self._instance = instance
        self._timing = timing
        self._messengers: dict[str, Messenger] = {}
        self._wake = asyncio.Event()
        # Notified whenever a task is delivered, for callers waiting on a chat's tasks.
        self._delivered = asyncio.Condition()
        self._last_edit: dict[str, tuple[float, str]] = {}

    def attach(self, messenger: Messenger) -> None:
        self._messengers[messenger.platform] = messenger
        self.wake()

    def wake(self) -> None:
        self._wake.set()

    async def pending_in(self, chat_key: str) -> int:
        async with self._db.unit_of_work() as uow:
            return await uow.mj_tasks.count_pending(chat_key)

    async def wait_idle(self, chat_key: str, within: float) -> bool:
        """Wait until the chat has no unfinished task (True) or `within` seconds pass (False)."""
        try:
            async with asyncio.timeout(within):
                async with self._delivered:
                    while await self.pending_in(chat_key):
                        await self._delivered.wait()
        except TimeoutError:
            return False
        return True

    async def run(self) -> None:
        """Poll until cancelled; an error in one round never stops the loop."""
        try:
            while True:
                # Cleared before the round, not after: a task submitted while the round
                # runs must still wake the next one.
                self._wake.clear()
                try:
                    busy = await self.poll_once()
                except Exception:
                    log.exception("midjourney polling round failed")
                    busy = True
                timeout = self._timing.poll_interval if busy else None
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for loses a cancellation
                # that arrives as the wake-up does, and the stopping tracker slept for ever.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout):
                        await self._wake.wait()
        finally:
            await self._release_leases()

    async def _release_leases(self) -> None:
        """A clean stop hands every task back at once (a crash loses them when the lock drops)."""
        try:
            async with self._db.unit_of_work() as uow:
                await uow.mj_tasks.release(self._instance.id)
                await uow.commit()
        except Exception as exc:
            log.warning("could not release midjourney leases: %s", type(exc).__name__)

    async def poll_once(self) -> bool:
        """One round over the tasks this instance leases; True if any task is unfinished."""
        if not self._messengers:
            return False
        gone = await self._instance.gone()
        posted_by = utc_now() - timedelta(seconds=self._timing.status_grace)
        async with self._db.unit_of_work() as uow:
            pending = await uow.mj_tasks.claim(
                self._instance.id,
                self._lease_end(),
                platforms=list(self._messengers),
                gone=gone,
                unposted_before=posted_by,
            )
            await uow.commit()
            unfinished = await uow.mj_tasks.count_pending(None)
        self._metrics.mj_pending(unfinished)
        self._metrics.mj_claimed(len(pending))
        if not pending:
            # Keep polling while tasks are unfinished: one left to its handler now is ours
            # once its status message is stored (a wake-up) or its grace ends (no wake-up).
            return unfinished > 0
        states = await self._fetch(pending)
        for record in pending:
            try:
                await self._advance(record, states.get(record.task_id))
            except Exception:
                log.exception("could not advance midjourney task %s", record.task_id)
        return True

    def _lease_end(self) -> datetime:
        return utc_now() + timedelta(seconds=self._timing.lease)

    async def _fetch(self, pending: list[MjTaskRecord]) -> dict[str, MjTask | GatewayError]:
        found: dict[str, MjTask | GatewayError] = {}
        if len(pending) == 1:
            task_id = pending[0].task_id
            try:
                found[task_id] = await self._gateway.mj_fetch(task_id)
            except GatewayError as exc:
                found[task_id] = exc
            return found
        try:
            for task in await self._gateway.mj_list([t.task_id for t in pending]):
                found[task.id] = task
        except GatewayError as exc:
            log.warning("midjourney list failed: %s", exc.detail)
        return found

    async def _advance(self, record: MjTaskRecord, state: MjTask | GatewayError | None) -> None:
        out = self._messengers[record.platform].outbox_for(
            ChatAddress(record.platform, record.chat_id, thread_id=record.thread_id),
            record.reply_to_message_id,
        )
        # Written in the language the person was answered in when they asked.
        tr = Tr(self._catalog, _lang(record.language))
        age = (datetime.now(UTC) - record.created_at).total_seconds()
        if isinstance(state, GatewayError) and state.status == 400:
            await self._finish(
                record, out, tr(t("❌ Midjourney lost this task ({reason}).", reason=state.detail))
            )
            return
        if not isinstance(state, MjTask):
            if age > self._timing.task_deadline:
                await self._finish(record, out, tr(GAVE_UP))
            return
        buttons = tuple(MjButton(b.customId, b.label, b.emoji) for b in state.buttons or [])
        success = state.status == "SUCCESS"
        async with self._db.unit_of_work() as uow:
            await uow.mj_tasks.update_state(
                record.task_id,
                state.status,
                state.progress,
                image_url=state.imageUrl or None,
                fail_reason=state.failReason or None,
                buttons=buttons if success else None,
                final_prompt=state.final_prompt if success and record.action == "DESCRIBE" else None,
            )
            await uow.commit()
        if record.status == "MODAL" and state.status != "MODAL":
            # Read before a reply answered the question: the answer's handler posts the new
            # status; the old message is not ours to show progress in (the next round reads
            # the task afresh).
            return
        if success and record.action == "DESCRIBE":
            await self._deliver_prompts(record, out, state, tr)
        elif success:
            await self._deliver(record, out, state, buttons, tr)
        elif state.status in ("FAILURE", "CANCEL"):
            reason = state.failReason or state.status.lower()
            await self._finish(record, out, tr(t("❌ Midjourney failed: {reason}", reason=reason)))
        elif age > self._timing.task_deadline:
            await self._finish(record, out, tr(GAVE_UP))
        else:
            if state.status == "MODAL":
                await self._ask_prompt(record, out, tr)
            await self._show_progress(
                record, out, tr(status_text(record.action, record.prompt, state.status, state.progress)), tr
            )

    async def _ask_prompt(self, record: MjTaskRecord, out: Outbox, tr: Tr) -> None:
        """A task waiting in MODAL: ask its chat for the prompt, once (the row says if we did).

        The question is open as long as the task may run (its deadline); the answer comes
        back as a command (`MjPromptAnswer`) and goes to /mj/submit/modal.
        """
        expires = record.created_at + timedelta(seconds=self._timing.task_deadline)
        async with self._db.unit_of_work() as uow:  # read first: most rounds find it asked
            asked = await uow.mj_prompts.for_task(record.task_id)
            parent = await uow.mj_tasks.get(record.parent_task_id) if record.parent_task_id else None
        if asked is None:
            async with self._db.unit_of_work() as uow:
                asked = await uow.mj_prompts.open(
                    uuid.uuid4().hex[:16],
                    record.task_id,
                    chat_key=record.chat_key,
                    user_id=record.user_id,
                    action=record.action,
                    expires_at=expires,
                )
                await uow.commit()
        if asked.message_id is not None or asked.answered_at is not None:
            return
        example = modal_example(record.action, parent.prompt if parent is not None else record.prompt)
        minutes = max(1, round((expires - datetime.now(UTC)).total_seconds() / 60))
        text = tr(ask_prompt_text(record.action, example, minutes))
        if not await self._still_mine(record):
            return
        note = await out.ask_text(
            text,
            answer=ask_payload(asked.id),
            placeholder=example,
            button=tr(t("✏️ Write the prompt")),
        )
        async with self._db.unit_of_work() as uow:
            await uow.mj_prompts.set_message(asked.id, note.message_id)
            await uow.commit()
        log.info("midjourney task %s waits for a prompt (request %s)", record.task_id, asked.id)

    async def _deliver_prompts(self, record: MjTaskRecord, out: Outbox, state: MjTask, tr: Tr) -> None:
        """A Describe result: its prompts, each with a button that imagines it."""
        prompts = described_prompts(state.final_prompt)
        if not prompts:
            await self._finish(record, out, tr(t("❌ Midjourney could not describe this picture.")))
            return
        if not await self._still_mine(record):
            return
        sent = await out.send_text(
            tr(describe_text(prompts)), buttons=describe_buttons(record.task_id, len(prompts), tr)
        )
        await self._mark_delivered(record.task_id, sent.message_id)
        self._metrics.mj_delivered()
        await self._edit_status(record, out, tr(done_text(record.action, record.prompt)))
        log.info("midjourney describe %s delivered to %s", record.task_id, record.chat_key)

    async def _show_progress(self, record: MjTaskRecord, out: Outbox, text: str, tr: Tr) -> None:
        # Before our first edit the message shows the state stored at the previous poll.
        shown = tr(status_text(record.action, record.prompt, record.status, record.progress))
        last_time, last_text = self._last_edit.get(record.task_id, (0.0, shown))
        now = time.monotonic()
        if text == last_text or now - last_time < self._timing.progress_edit_interval:
            return  # unchanged text would be refused; and messengers throttle edits
        self._last_edit[record.task_id] = (now, text)
        if record.status_message_id is None:
            note = await out.send_text(text)
            async with self._db.unit_of_work() as uow:
                await uow.mj_tasks.set_status_message(record.task_id, note.message_id)
                await uow.commit()
            return
        try:
            await out.edit_text(SentMessage(record.status_message_id), text)
        except Exception as exc:
            log.warning("progress edit failed for task %s: %s", record.task_id, type(exc).__name__)

    async def _still_mine(self, record: MjTaskRecord) -> bool:
        """Renew the lease right before a delivery: an owner whose lease lapsed must not send."""
        async with self._db.unit_of_work() as uow:
            mine = await uow.mj_tasks.renew(record.task_id, self._instance.id, self._lease_end())
            await uow.commit()
        if not mine:
            log.warning("midjourney task %s is no longer ours; not delivering it", record.task_id)
        return mine

    async def _deliver(
        self, record: MjTaskRecord, out: Outbox, state: MjTask, buttons: tuple[MjButton, ...], tr: Tr
    ) -> None:
        if not state.imageUrl:
            await self._finish(record, out, tr(t("❌ Midjourney finished without an image.")))
            return
        image = await self._gateway.download(state.imageUrl)
        if not await self._still_mine(record):
            return
        sent = await out.send_images(
            [OutImage(image, f"midjourney-{record.task_id}.png")],
            caption=f"🎨 {record.prompt[:200]}",
            buttons=button_rows(record.task_id, buttons, tr),
        )
        await self._mark_delivered(record.task_id, sent.message_id)
        self._metrics.mj_delivered()
        await self._edit_status(record, out, tr(done_text(record.action, record.prompt)))
        log.info("midjourney task %s delivered to %s", record.task_id, record.chat_key)

    async def _finish(self, record: MjTaskRecord, out: Outbox, text: str) -> None:
        if not await self._still_mine(record):
            return
        if record.status_message_id:
            await self._edit_status(record, out, text)
        else:
            await out.send_text(text)
        await self._mark_delivered(record.task_id)
        self._last_edit.pop(record.task_id, None)

    async def _mark_delivered(self, task_id: str, result_message_id: str | None = None) -> None:
        async with self._db.unit_of_work() as uow:
            marked = await uow.mj_tasks.mark_delivered(task_id, result_message_id, owner=self._instance.id)
            await uow.commit()
        if not marked:
            log.warning("midjourney task %s: lease lost while delivering", task_id)
        async with self._delivered:
            self._delivered.notify_all()

    async def _edit_status(self, record: MjTaskRecord, out: Outbox, text: str) -> None:
        self._last_edit.pop(record.task_id, None)
        if record.status_message_id is None:
            return
        try:
            await out.edit_text(SentMessage(record.status_message_id), text)
        except Exception as exc:
            log.warning("status edit failed for task %s: %s", record.task_id, type(exc).__name__)

"""Following Midjourney tasks to the end: progress edits, result image, buttons.

Tasks live in the database from the moment they are submitted, so polling picks up
where it left off after a restart. One loop polls every unfinished task, batching
them into one list-by-condition call when several are running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime

from bot.config import Settings
from bot.errors import GatewayError
from bot.gateway.client import GatewayClient
from bot.gateway.types import MjTask
from bot.midjourney.view import button_rows, done_text, status_text
from bot.model import ChatAddress, Messenger, Outbox, OutImage, SentMessage
from storage import Database, MjButton, MjTaskRecord

log = logging.getLogger(__name__)


class MjTracker:
    def __init__(self, gateway: GatewayClient, db: Database, settings: Settings) -> None:
        self._gateway = gateway
        self._db = db
        self._settings = settings
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
        while True:
            try:
                busy = await self.poll_once()
            except Exception:
                log.exception("midjourney polling round failed")
                busy = True
            timeout = self._settings.mj_poll_interval if busy else None
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def poll_once(self) -> bool:
        """One round over every pending task on a running platform; True if any remain."""
        async with self._db.unit_of_work() as uow:
            pending = [t for t in await uow.mj_tasks.pending() if t.platform in self._messengers]
        if not pending:
            return False
        states = await self._fetch(pending)
        for record in pending:
            try:
                await self._advance(record, states.get(record.task_id))
            except Exception:
                log.exception("could not advance midjourney task %s", record.task_id)
        return True

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
        age = (datetime.now(UTC) - record.created_at).total_seconds()
        if isinstance(state, GatewayError) and state.status == 400:
            await self._finish(record, out, f"❌ Midjourney lost this task ({state.detail}).")
            return
        if not isinstance(state, MjTask):
            if age > self._settings.mj_task_deadline:
                await self._finish(record, out, "⌛ Midjourney did not finish in time; giving up.")
            return
        buttons = tuple(MjButton(b.customId, b.label, b.emoji) for b in state.buttons or [])
        async with self._db.unit_of_work() as uow:
            await uow.mj_tasks.update_state(
                record.task_id,
                state.status,
                state.progress,
                image_url=state.imageUrl or None,
                fail_reason=state.failReason or None,
                buttons=buttons if state.status == "SUCCESS" else None,
            )
            await uow.commit()
        if state.status == "SUCCESS":
            await self._deliver(record, out, state, buttons)
        elif state.status in ("FAILURE", "CANCEL"):
            reason = state.failReason or state.status.lower()
            await self._finish(record, out, f"❌ Midjourney failed: {reason}")
        elif age > self._settings.mj_task_deadline:
            await self._finish(record, out, "⌛ Midjourney did not finish in time; giving up.")
        else:
            await self._show_progress(
                record, out, status_text(record.action, record.prompt, state.status, state.progress)
            )

    async def _show_progress(self, record: MjTaskRecord, out: Outbox, text: str) -> None:
        # Before our first edit the message shows the state stored at the previous poll.
        shown = status_text(record.action, record.prompt, record.status, record.progress)
        last_time, last_text = self._last_edit.get(record.task_id, (0.0, shown))
        now = time.monotonic()
        if text == last_text or now - last_time < self._settings.progress_edit_interval:
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

    async def _deliver(
        self, record: MjTaskRecord, out: Outbox, state: MjTask, buttons: tuple[MjButton, ...]
    ) -> None:
        if not state.imageUrl:
            await self._finish(record, out, "❌ Midjourney finished without an image.")
            return
        image = await self._gateway.download(state.imageUrl)
        sent = await out.send_images(
            [OutImage(image, f"midjourney-{record.task_id}.png")],
            caption=f"🎨 {record.prompt[:200]}",
            buttons=button_rows(record.task_id, buttons),
        )
        await self._mark_delivered(record.task_id, sent.message_id)
        await self._edit_status(record, out, done_text(record.action, record.prompt))
        log.info("midjourney task %s delivered to %s", record.task_id, record.chat_key)

    async def _finish(self, record: MjTaskRecord, out: Outbox, text: str) -> None:
        if record.status_message_id:
            await self._edit_status(record, out, text)
        else:
            await out.send_text(text)
        await self._mark_delivered(record.task_id)
        self._last_edit.pop(record.task_id, None)

    async def _mark_delivered(self, task_id: str, result_message_id: str | None = None) -> None:
        async with self._db.unit_of_work() as uow:
            await uow.mj_tasks.mark_delivered(task_id, result_message_id)
            await uow.commit()
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

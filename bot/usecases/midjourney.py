"""Starting Midjourney work: submit, store the task with its usage, hand it to the tracker.

/imagine, /blend, the grid's buttons and the chat model's `imagine_midjourney` tool all
start tasks here; `bot.midjourney.tracker` follows them to the end. Each submit is a
durable job: written before the call, with its id sent as the task's `state`; the task
id is stored (with the task and its usage) in one short transaction the moment the
submit answers, so an accepted task is never lost to a crash.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.admission.admission import Permit
from bot.config import MjMode
from bot.errors import GatewayError, UserError
from bot.gateway.client import GatewayClient
from bot.imaging import CheckedImage
from bot.lifecycle.jobs import Job, Jobs
from bot.midjourney.view import action_of, status_text
from bot.usage.recorder import Recorder
from bot.usecases.context import Request
from storage import Database, MjTaskRecord

log = logging.getLogger(__name__)

# Per reference image, as the gateway's docs recommend (wenwen-api.md §6.2).
MJ_IMAGE_LIMIT = 4 * 1024 * 1024


@dataclass(frozen=True)
class Started:
    task_id: str


class Midjourney:
    def __init__(
        self,
        gateway: GatewayClient,
        db: Database,
        recorder: Recorder,
        jobs: Jobs,
        *,
        mode: MjMode,
        wake_tracker: Callable[[], None],
    ) -> None:
        self._gateway = gateway
        self._db = db
        self._recorder = recorder
        self._jobs = jobs
        self._mode = mode
        self._wake_tracker = wake_tracker

    async def imagine(
        self, req: Request, permit: Permit, prompt: str, references: Sequence[CheckedImage] = ()
    ) -> Started:
        job = await self._jobs.open(req.msg, req.keys, "mj_imagine", prompt)
        task_id = await self._submit(
            job,
            self._gateway.mj_imagine(
                prompt, images=[image.data_url() for image in references], mode=self._mode.value, state=job.id
            ),
        )
        return await self._start(req, permit, job, task_id, action="IMAGINE", prompt=prompt)

    async def blend(
        self, req: Request, permit: Permit, images: Sequence[CheckedImage], dimensions: str
    ) -> Started:
        what = f"{len(images)} photos, {dimensions.lower()}"
        job = await self._jobs.open(req.msg, req.keys, "mj_blend", what)
        task_id = await self._submit(
            job,
            self._gateway.mj_blend(
                [image.data_url() for image in images],
                dimensions=dimensions,
                mode=self._mode.value,
                state=job.id,
            ),
        )
        return await self._start(req, permit, job, task_id, action="BLEND", prompt=what)

    async def press(self, req: Request, permit: Permit, task_id: str, index: int) -> Started:
        async with self._db.unit_of_work() as uow:
            parent = await uow.mj_tasks.get(task_id)
        if parent is None or not 0 <= index < len(parent.buttons):
            raise UserError("This button has expired. Start again with /imagine.")
        if parent.chat_key != req.msg.address.key:
            raise UserError("This button belongs to another chat.")
        button = parent.buttons[index]
        label = button.label or button.emoji or "action"
        prompt = f"{label} · {parent.prompt}"
        job = await self._jobs.open(req.msg, req.keys, "mj_action", prompt)
        new_id = await self._submit(
            job, self._gateway.mj_action(parent.task_id, button.custom_id, state=job.id)
        )
        return await self._start(
            req, permit, job, new_id, action=action_of(button.custom_id), prompt=prompt, parent=parent.task_id
        )

    async def seed(self, req: Request, task_id: str) -> str:
        """The seed of a delivered image (/mj/task/{id}/image-seed), to reuse with --seed."""
        async with self._db.unit_of_work() as uow:
            task = await uow.mj_tasks.get(task_id)
        if task is None or task.chat_key != req.msg.address.key:
            raise UserError("This button has expired.")
        return await self._gateway.mj_image_seed(task.task_id)

    async def _submit(self, job: Job, submit: Awaitable[str]) -> str:
        try:
            return await submit
        except GatewayError:
            await self._jobs.finish(job, "failed")  # refused or failed: the user is told by the core
            raise

    async def _start(
        self,
        req: Request,
        permit: Permit,
        job: Job,
        task_id: str,
        *,
        action: str,
        prompt: str,
        parent: str | None = None,
    ) -> Started:
        """Persist the task, its usage and the job's task id at once, then show status."""
        msg = req.msg
        address = msg.address
        now = datetime.now(UTC)
        record = MjTaskRecord(
            task_id=task_id,
            chat_key=address.key,
            platform=address.platform,
            chat_id=address.chat_id,
            thread_id=address.thread_id,
            user_id=msg.user.id,
            user_name=msg.user.name,
            reply_to_message_id=msg.message_id,
            status_message_id=None,
            result_message_id=None,
            action=action,
            prompt=prompt,
            parent_task_id=parent,
            status="",
            progress="0%",
            buttons=(),
            image_url=None,
            fail_reason=None,
            delivered=False,
            created_at=now,
            updated_at=now,
            finished_at=None,
            job_id=job.id,
        )
        event = self._recorder.ledger.event(
            address,
            msg.user,
            job.kind,
            "midjourney-" + self._mode.value.lower(),
            request_key=f"mj:{task_id}",
            mj_tasks=1,
            task_id=task_id,
        )
        async with self._db.unit_of_work() as uow:
            await uow.mj_tasks.add(record)
            await self._recorder.add(uow, event, permit.hold)
            await uow.jobs.move(job.id, "submitted", gateway_id=task_id)
            await uow.commit()
        log.info("midjourney %s task %s submitted for %s", action, task_id, address.key)
        try:
            note = await req.out.send_text(status_text(action, prompt, "", "0%"))
            async with self._db.unit_of_work() as uow:
                await uow.mj_tasks.set_status_message(task_id, note.message_id)
                await uow.commit()
        finally:
            # The task is stored either way; without a status message the tracker posts one.
            self._wake_tracker()
        return Started(task_id)

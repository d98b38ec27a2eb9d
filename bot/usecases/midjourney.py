"""Starting Midjourney work: submit, store the task with its usage, hand it to the tracker.

/imagine, /blend, /describe, the grid's buttons, the "Imagine n" buttons under a Describe
result, the answer to a task waiting in MODAL (custom zoom, remix) and the chat model's
`imagine_midjourney` tool all start tasks here; `bot.midjourney.tracker` follows them to
the end. Each submit is a durable job: written before the call, with its id sent as the
task's `state`; the task id is stored (with the task and its usage) in one short
transaction the moment the submit answers, so an accepted task is never lost to a crash.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.admission.admission import Permit
from bot.config import MjMode
from bot.errors import GatewayError, UserError
from bot.gateway.client import GatewayClient
from bot.i18n import t
from bot.imaging import CheckedImage
from bot.lifecycle.jobs import Job, Jobs
from bot.midjourney.view import action_of, continued_text, described_prompts, status_text
from bot.model import SentMessage
from bot.usage.recorder import Recorder
from bot.usecases.context import Request
from storage import Database, MjTaskRecord
from storage.clock import utc_now

log = logging.getLogger(__name__)

# Per reference image, as the gateway's docs recommend (wenwen-api.md §6.2).
MJ_IMAGE_LIMIT = 4 * 1024 * 1024
# How long an answered task is kept from trackers while its prompt is submitted; longer
# than any gateway call, and only reached when the handler died meanwhile.
ANSWER_HOLD = timedelta(minutes=2)


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
            raise UserError(t("This button has expired. Start again with /imagine."))
        if parent.chat_key != req.msg.address.key:
            raise UserError(t("This button belongs to another chat."))
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

    async def describe(self, req: Request, permit: Permit, image: CheckedImage) -> Started:
        """Ask Midjourney for four prompts that describe the photo (the tracker shows them)."""
        what = "your photo"
        job = await self._jobs.open(req.msg, req.keys, "mj_describe", what)
        task_id = await self._submit(
            job, self._gateway.mj_describe(image.data_url(), mode=self._mode.value, state=job.id)
        )
        return await self._start(req, permit, job, task_id, action="DESCRIBE", prompt=what)

    async def imagine_described(self, req: Request, permit: Permit, task_id: str, number: int) -> Started:
        """An "Imagine n" button: /imagine the n-th prompt of a Describe result."""
        async with self._db.unit_of_work() as uow:
            task = await uow.mj_tasks.get(task_id)
        prompts = described_prompts(task.final_prompt or "") if task is not None else []
        if task is None or not 1 <= number <= len(prompts):
            raise UserError(t("This button has expired. Send /describe with the photo again."))
        if task.chat_key != req.msg.address.key:
            raise UserError(t("This button belongs to another chat."))
        return await self.imagine(req, permit, prompts[number - 1])

    async def answer_prompt(self, req: Request, permit: Permit, request_id: str, prompt: str) -> Started:
        """The prompt a task waiting in MODAL asked for: submitted with /mj/submit/modal.

        The question is taken once (a second answer is refused) and given back when the
        gateway refuses the prompt, so it can be answered again.
        """
        msg = req.msg
        async with self._db.unit_of_work() as uow:
            asked = await uow.mj_prompts.get(request_id)
            task = await uow.mj_tasks.get(asked.task_id) if asked is not None else None
        if asked is None or task is None or asked.chat_key != msg.address.key:
            raise UserError(t("This question is no longer open. Press the button under the picture again."))
        if asked.user_id != msg.user.id:
            raise UserError(t("Only the person who pressed the button can answer this question."))
        # The job first: a replayed update finds it and stops here (Silent), before the answer.
        job = await self._jobs.open(msg, req.keys, "mj_modal", prompt)
        holder, now = f"answer:{job.id}", utc_now()
        async with self._db.unit_of_work() as uow:
            taken = await uow.mj_prompts.answer(request_id, now)
            if taken:  # trackers must not show the gateway's new state in the old status message
                await uow.mj_tasks.hold(task.task_id, holder, now + ANSWER_HOLD)
            await uow.commit()
        if not taken:
            await self._jobs.finish(job, "failed")
            raise UserError(
                t(
                    "This question has expired or was already answered. "
                    "Press the button under the picture again."
                )
            )
        try:
            task_id = await self._submit(job, self._gateway.mj_modal(task.task_id, prompt))
        except GatewayError:
            async with self._db.unit_of_work() as uow:
                await uow.mj_prompts.reopen(request_id)
                await uow.mj_tasks.release(holder)
                await uow.commit()
            raise
        if task_id != task.task_id:
            # A proxy that runs the modal as a task of its own: follow that one instead.
            async with self._db.unit_of_work() as uow:
                await uow.mj_tasks.mark_delivered(task.task_id)
                await uow.commit()
            return await self._start(
                req, permit, job, task_id, action=task.action, prompt=prompt, parent=task.parent_task_id
            )
        return await self._resume(req, permit, job, task, prompt)

    async def question_in(self, chat_key: str, message_id: str) -> str | None:
        """The prompt request whose question is this message (a reply to it is the answer)."""
        async with self._db.unit_of_work() as uow:
            asked = await uow.mj_prompts.asked_in(chat_key, message_id)
        return None if asked is None else asked.id

    async def seed(self, req: Request, task_id: str) -> str:
        """The seed of a delivered image (/mj/task/{id}/image-seed), to reuse with --seed."""
        async with self._db.unit_of_work() as uow:
            task = await uow.mj_tasks.get(task_id)
        if task is None or task.chat_key != req.msg.address.key:
            raise UserError(t("This button has expired."))
        return await self._gateway.mj_image_seed(task.task_id)

    async def _submit(self, job: Job, submit: Awaitable[str]) -> str:
        try:
            return await submit
        except GatewayError:
            await self._jobs.finish(job, "failed")  # refused or failed: the user is told by the core
            raise

    async def _resume(
        self, req: Request, permit: Permit, job: Job, task: MjTaskRecord, prompt: str
    ) -> Started:
        """The waiting task runs on with the new prompt: usage, job and task in one transaction."""
        msg = req.msg
        event = self._recorder.ledger.event(
            msg.address,
            msg.user,
            job.kind,
            "midjourney-" + self._mode.value.lower(),
            request_key=f"mj-modal:{task.task_id}",
            mj_tasks=1,
            task_id=task.task_id,
        )
        async with self._db.unit_of_work() as uow:
            resumed = await uow.mj_tasks.resume(task.task_id, prompt, job_id=job.id)
            await self._recorder.add(uow, event, permit.hold)
            await uow.jobs.move(job.id, "submitted", gateway_id=task.task_id)
            await uow.commit()
        if not resumed:
            # Charged, but the tracker gave up on the task meanwhile (its deadline passed).
            log.warning("midjourney task %s took a modal after it was closed", task.task_id)
            raise UserError(
                t("Midjourney took the prompt too late; this picture was closed. Please start again.")
            )
        log.info("midjourney task %s resumed with a new prompt in %s", task.task_id, msg.address.key)
        try:
            note = await req.out.send_text(req.tr(status_text(task.action, prompt, "", "0%")))
            async with self._db.unit_of_work() as uow:
                await uow.mj_tasks.set_status_message(task.task_id, note.message_id)
                await uow.commit()
        finally:
            self._wake_tracker()
        await self._close_old_status(req, task)
        return Started(task.task_id)

    async def _close_old_status(self, req: Request, task: MjTaskRecord) -> None:
        """The status message above the question would stay at "waiting": point it to the new one."""
        if task.status_message_id is None:
            return
        try:
            old = SentMessage(task.status_message_id)
            await req.out.edit_text(old, req.tr(continued_text(task.action, task.prompt)))
        except Exception as exc:  # a courtesy: the new status message is what matters
            log.info("could not close the old status of task %s: %s", task.task_id, exc)

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
            language=req.tr.lang.value,
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
            note = await req.out.send_text(req.tr(status_text(action, prompt, "", "0%")))
            async with self._db.unit_of_work() as uow:
                await uow.mj_tasks.set_status_message(task_id, note.message_id)
                await uow.commit()
        finally:
            # The task is stored either way; without a status message the tracker posts one.
            self._wake_tracker()
        return Started(task_id)

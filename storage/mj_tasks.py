"""Midjourney tasks: what was asked, where progress goes, and whether it was delivered.

The rows outlive the process. Each unfinished task is followed by one instance at a time,
under a lease (`claim`): only the lease holder polls it, edits its progress and delivers it,
and a delivery is marked only while the lease is still held (`mark_delivered(owner=…)`).
A lease lapses when its owner stops renewing it, or at once when the owner is known to be
gone, so after a crash or with several replicas every task is followed by exactly one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import false, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import dialect
from storage.clock import utc_now
from storage.records import FINISHED_MJ_STATUSES, MjButton, MjTaskRecord, RecordNotFound
from storage.tables import MjTaskRow


class MjTaskRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, record: MjTaskRecord) -> None:
        """Insert a new task; a task_id already stored raises IntegrityError."""
        self._session.add(
            MjTaskRow(
                task_id=record.task_id,
                chat_key=record.chat_key,
                platform=record.platform,
                chat_id=record.chat_id,
                thread_id=record.thread_id,
                user_id=record.user_id,
                user_name=record.user_name,
                reply_to_message_id=record.reply_to_message_id,
                status_message_id=record.status_message_id,
                result_message_id=record.result_message_id,
                action=record.action,
                prompt=record.prompt,
                parent_task_id=record.parent_task_id,
                status=record.status,
                progress=record.progress,
                buttons=_buttons_json(record.buttons),
                image_url=record.image_url,
                fail_reason=record.fail_reason,
                delivered=record.delivered,
                created_at=record.created_at,
                updated_at=record.updated_at,
                finished_at=record.finished_at,
                language=record.language,
                job_id=record.job_id,
                lease_owner=record.lease_owner,
                final_prompt=record.final_prompt,
            )
        )
        await self._session.flush()

    async def get(self, task_id: str) -> MjTaskRecord | None:
        row = await self._session.get(MjTaskRow, task_id)
        return None if row is None else _record(row)

    async def update_state(
        self,
        task_id: str,
        status: str,
        progress: str,
        *,
        image_url: str | None = None,
        fail_reason: str | None = None,
        buttons: Iterable[MjButton] | None = None,
        final_prompt: str | None = None,
    ) -> MjTaskRecord:
        """Apply a poll result. None leaves image_url, fail_reason or buttons as they were.

        One UPDATE (no read first): on SQLite a write that starts with a read fails at once
        when another connection wrote in between.
        """
        values: dict[str, object] = {"status": status, "progress": progress, "updated_at": utc_now()}
        if image_url is not None:
            values["image_url"] = image_url
        if fail_reason is not None:
            values["fail_reason"] = fail_reason
        if buttons is not None:
            values["buttons"] = _buttons_json(buttons)
        if final_prompt is not None:
            values["final_prompt"] = final_prompt
        if status in FINISHED_MJ_STATUSES:
            values["finished_at"] = func.coalesce(MjTaskRow.finished_at, utc_now())
        row = await self._session.scalar(
            update(MjTaskRow)
            .where(MjTaskRow.task_id == task_id)
            .values(**values)
            .returning(MjTaskRow)
            .execution_options(populate_existing=True)
        )
        if row is None:
            raise RecordNotFound(f"no Midjourney task {task_id!r}")
        return _record(row)

    async def resume(self, task_id: str, prompt: str, *, job_id: str) -> bool:
        """A task that waited in MODAL runs again with `prompt` (the modal's answer).

        Its clock restarts (the deadline counts Midjourney's time, not the user's); False
        when the task is gone or already delivered. Its status message is dropped: the
        handler posts a new one under the answer, and until it does, `claim` leaves the task
        to it, as for a new task (a tracker would otherwise show progress in the old one).
        """
        now = utc_now()
        result = await self._session.execute(
            update(MjTaskRow)
            .where(MjTaskRow.task_id == task_id, MjTaskRow.delivered == false())
            .values(
                prompt=prompt,
                status="",
                progress="0%",
                status_message_id=None,
                lease_owner=None,  # the answer's hold ends; any tracker may follow it now
                lease_until=None,
                job_id=job_id,
                created_at=now,
                updated_at=now,
                finished_at=None,
            )
            .returning(MjTaskRow.task_id)
        )
        return result.first() is not None

    async def hold(self, task_id: str, holder: str, until: datetime) -> None:
        """A handler acting on the task (submitting its prompt) takes it from any tracker.

        Trackers leave a task leased to someone else until the lease runs out, so a crash
        in the handler only delays tracking; `resume` or `release(holder)` ends the hold.
        """
        await self._session.execute(
            update(MjTaskRow)
            .where(MjTaskRow.task_id == task_id, MjTaskRow.delivered == false())
            .values(lease_owner=holder, lease_until=until)
        )

    async def set_status_message(self, task_id: str, message_id: str) -> None:
        changed = await self._session.scalar(
            update(MjTaskRow)
            .where(MjTaskRow.task_id == task_id)
            .values(status_message_id=message_id, updated_at=utc_now())
            .returning(MjTaskRow.task_id)
        )
        if changed is None:
            raise RecordNotFound(f"no Midjourney task {task_id!r}")

    async def mark_delivered(
        self, task_id: str, result_message_id: str | None = None, *, owner: str | None = None
    ) -> bool:
        """The final image or failure notice reached the chat: stop resuming this task.

        With `owner`, only while that instance still holds the task's lease (False otherwise).
        """
        values: dict[str, object] = {"delivered": True, "lease_owner": None, "lease_until": None}
        if result_message_id is not None:
            values["result_message_id"] = result_message_id
        where = [MjTaskRow.task_id == task_id, MjTaskRow.delivered == false()]
        if owner is not None:
            where.append(MjTaskRow.lease_owner == owner)
        result = await self._session.execute(
            update(MjTaskRow).where(*where).values(**values).returning(MjTaskRow.task_id)
        )
        return result.first() is not None

    async def claim(
        self,
        owner: str,
        until: datetime,
        *,
        platforms: Iterable[str],
        gone: Iterable[str] = (),
        unposted_before: datetime | None = None,
        limit: int = 100,
    ) -> list[MjTaskRecord]:
        """Lease unfinished tasks nobody holds (or whose holder is gone or late) to `owner`.

        Tasks already leased to `owner` are renewed and returned too. A task without a status
        message is left to the handler posting one if it was created at or after
        `unposted_before`. PostgreSQL skips rows another replica is claiming at this moment
        (FOR UPDATE SKIP LOCKED); SQLite has one writer at a time anyway.
        """
        now = utc_now()
        free = or_(
            MjTaskRow.lease_owner.is_(None),
            MjTaskRow.lease_owner == owner,
            MjTaskRow.lease_until < now,
            MjTaskRow.lease_owner.in_(list(gone)),
        )
        where = [MjTaskRow.delivered == false(), MjTaskRow.platform.in_(list(platforms)), free]
        if unposted_before is not None:
            where.append(
                or_(MjTaskRow.status_message_id.is_not(None), MjTaskRow.created_at < unposted_before)
            )
        candidates = (
            select(MjTaskRow.task_id)
            .where(*where)
            .order_by(MjTaskRow.created_at, MjTaskRow.task_id)
            .limit(limit)
        )
        if dialect.backend(self._session) == "postgresql":
            candidates = candidates.with_for_update(skip_locked=True)
        # One statement, so the write comes first (see update_state).
        claimed = list(
            await self._session.scalars(
                update(MjTaskRow)
                .where(MjTaskRow.task_id.in_(candidates.scalar_subquery()))
                .values(lease_owner=owner, lease_until=until)
                .returning(MjTaskRow.task_id)
                .execution_options(synchronize_session=False)
            )
        )
        if not claimed:
            return []
        rows = await self._session.scalars(
            select(MjTaskRow)
            .where(MjTaskRow.task_id.in_(claimed))
            .order_by(MjTaskRow.created_at, MjTaskRow.task_id)
            .execution_options(populate_existing=True)
        )
        return [_record(row) for row in rows]

    async def renew(self, task_id: str, owner: str, until: datetime) -> bool:
        """Extend `owner`'s lease on one task; False when the lease is no longer `owner`'s."""
        result = await self._session.execute(
            update(MjTaskRow)
            .where(
                MjTaskRow.task_id == task_id,
                MjTaskRow.lease_owner == owner,
                MjTaskRow.delivered == false(),
            )
            .values(lease_until=until)
            .returning(MjTaskRow.task_id)
        )
        return result.first() is not None

    async def release(self, owner: str) -> None:
        """Give up every lease `owner` holds (a clean shutdown, or an answer's hold on its task):
        the next tracker round takes them at once."""
        await self._session.execute(
            update(MjTaskRow)
            .where(MjTaskRow.lease_owner == owner, MjTaskRow.delivered == false())
            .values(lease_owner=None, lease_until=None)
        )

    async def pending(self) -> list[MjTaskRecord]:
        """Tasks not yet delivered, oldest first."""
        rows = await self._session.scalars(
            select(MjTaskRow)
            .where(MjTaskRow.delivered == false())
            .order_by(MjTaskRow.created_at, MjTaskRow.task_id)
        )
        return [_record(row) for row in rows]

    async def count_pending(self, chat_key: str | None) -> int:
        """How many of this chat's tasks (None: all tasks) are not yet delivered."""
        where = [MjTaskRow.delivered == false()]
        if chat_key is not None:
            where.append(MjTaskRow.chat_key == chat_key)
        count = await self._session.scalar(select(func.count()).select_from(MjTaskRow).where(*where))
        return int(count or 0)


def _buttons_json(buttons: Iterable[MjButton]) -> list[dict[str, str]]:
    return [{"custom_id": b.custom_id, "label": b.label, "emoji": b.emoji} for b in buttons]


def _record(row: MjTaskRow) -> MjTaskRecord:
    return MjTaskRecord(
        task_id=row.task_id,
        chat_key=row.chat_key,
        platform=row.platform,
        chat_id=row.chat_id,
        thread_id=row.thread_id,
        user_id=row.user_id,
        user_name=row.user_name,
        reply_to_message_id=row.reply_to_message_id,
        status_message_id=row.status_message_id,
        result_message_id=row.result_message_id,
        action=row.action,
        prompt=row.prompt,
        parent_task_id=row.parent_task_id,
        status=row.status,
        progress=row.progress,
        buttons=tuple(MjButton(b["custom_id"], b.get("label", ""), b.get("emoji", "")) for b in row.buttons),
        image_url=row.image_url,
        fail_reason=row.fail_reason,
        delivered=row.delivered,
        created_at=row.created_at,
        updated_at=row.updated_at,
        finished_at=row.finished_at,
        job_id=row.job_id,
        lease_owner=row.lease_owner,
        language=row.language,
        final_prompt=row.final_prompt,
    )

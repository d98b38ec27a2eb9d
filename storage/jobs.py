"""Durable jobs: every paid, slow gateway call is written down before it is made.

States, in order:

    started     written before the gateway call (it may be in flight, and billed)
    answered    the gateway answered; its result and usage were stored in one transaction,
                which also made sure it is still its owner's (one sender only)
    delivering  being sent (written by earlier versions; finished like an answered one)
    submitted   a Midjourney task the gateway accepted: the tracker follows it from here
    done        the result reached the chat
    failed      the gateway refused or failed; the user was told
    interrupted a restart cut it off; the user was told (and whether it may have been charged)

A job whose owner instance is gone is claimed by another (`claim_orphans`) and finished:
an answered one is delivered from its stored result, a started one is answered.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import dialect
from storage.clock import utc_now
from storage.records import JobRecord, JobResult
from storage.tables import JobResultRow, JobRow

OPEN_STATES = ("started", "answered", "delivering")


class JobRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, job: JobRecord) -> bool:
        """Store a new job; False when its key was seen before (the same request again)."""
        now = utc_now()
        result = await self._session.execute(
            dialect.insert(self._session, JobRow)
            .values(
                id=job.id,
                key=job.key,
                source=job.source,
                kind=job.kind,
                state=job.state,
                instance_id=job.instance_id,
                chat_key=job.chat_key,
                platform=job.platform,
                chat_id=job.chat_id,
                thread_id=job.thread_id,
                user_id=job.user_id,
                user_name=job.user_name,
                reply_to_message_id=job.reply_to_message_id,
                summary=job.summary,
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(JobRow.id)
        )
        return result.first() is not None

    async def get(self, job_id: str) -> JobRecord | None:
        row = await self._session.get(JobRow, job_id)
        return None if row is None else _record(row)

    async def by_source(self, source: str) -> list[JobRecord]:
        rows = await self._session.scalars(select(JobRow).where(JobRow.source == source))
        return [_record(row) for row in rows]

    async def move(
        self,
        job_id: str,
        to: str,
        *,
        only_from: Sequence[str] | None = None,
        gateway_id: str | None = None,
        result_message_id: str | None = None,
        owner: str | None = None,
    ) -> bool:
        """Change a job's state (conditionally: only from `only_from`); True if it changed."""
        values: dict[str, object] = {"state": to, "updated_at": utc_now()}
        if gateway_id is not None:
            values["gateway_id"] = gateway_id
        if result_message_id is not None:
            values["result_message_id"] = result_message_id
        where = [JobRow.id == job_id]
        if only_from is not None:
            where.append(JobRow.state.in_(only_from))
        if owner is not None:
            where.append(JobRow.instance_id == owner)
        result = await self._session.execute(
            update(JobRow).where(*where).values(**values).returning(JobRow.id)
        )
        return result.first() is not None

    async def store_results(self, job_id: str, results: Iterable[JobResult]) -> None:
        for position, result in enumerate(results):
            self._session.add(
                JobResultRow(job_id=job_id, position=position, mime=result.mime, data=result.data)
            )
        await self._session.flush()

    async def results(self, job_id: str) -> list[JobResult]:
        rows = await self._session.scalars(
            select(JobResultRow).where(JobResultRow.job_id == job_id).order_by(JobResultRow.position)
        )
        return [JobResult(row.mime, row.data) for row in rows]

    async def drop_results(self, job_id: str) -> None:
        await self._session.execute(delete(JobResultRow).where(JobResultRow.job_id == job_id))

    async def claim_orphans(
        self, owners: Iterable[str], new_owner: str, *, platforms: Iterable[str]
    ) -> list[JobRecord]:
        """Open jobs of these (gone) instances on these platforms, now owned by `new_owner`."""
        gone = list(owners)
        if not gone:
            return []
        ids = await self._session.scalars(
            update(JobRow)
            .where(
                JobRow.instance_id.in_(gone),
                JobRow.state.in_(OPEN_STATES),
                JobRow.platform.in_(list(platforms)),
            )
            .values(instance_id=new_owner, updated_at=utc_now())
            .returning(JobRow.id)
        )
        claimed = list(ids)
        if not claimed:
            return []
        rows = await self._session.scalars(
            select(JobRow).where(JobRow.id.in_(claimed)).order_by(JobRow.created_at)
        )
        return [_record(row) for row in rows]

    async def open_of(self, owner: str) -> list[JobRecord]:
        rows = await self._session.scalars(
            select(JobRow).where(JobRow.instance_id == owner, JobRow.state.in_(OPEN_STATES))
        )
        return [_record(row) for row in rows]


def _record(row: JobRow) -> JobRecord:
    return JobRecord(
        id=row.id,
        kind=row.kind,
        state=row.state,
        instance_id=row.instance_id,
        chat_key=row.chat_key,
        platform=row.platform,
        chat_id=row.chat_id,
        thread_id=row.thread_id,
        user_id=row.user_id,
        user_name=row.user_name,
        reply_to_message_id=row.reply_to_message_id,
        summary=row.summary,
        key=row.key,
        source=row.source,
        gateway_id=row.gateway_id,
        result_message_id=row.result_message_id,
        created_at=row.created_at,
    )

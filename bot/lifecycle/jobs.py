"""Durable jobs for paid, slow gateway calls (storage.jobs has the states).

A use case opens a job before it calls the gateway, records the answer the moment it
arrives (the result and its usage in one short transaction, which also claims it for
sending), then delivers it.
If the process dies anywhere on the way, `bot.lifecycle.recovery` finds the job on the
next start and finishes it: an answered job is delivered from what was stored, a started
one is answered in its chat — never dropped in silence.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from bot.errors import Silent
from bot.model import Incoming, Receipt
from storage import Database, JobRecord, JobResult, UnitOfWork

log = logging.getLogger(__name__)


@dataclass
class JobKeys:
    """Idempotency keys for the jobs one inbound update starts: the same update, the same keys."""

    source: str | None
    used: int = 0

    def next(self) -> str | None:
        self.used += 1
        return None if self.source is None else f"{self.source}#{self.used}"


@dataclass(frozen=True)
class Job:
    id: str
    kind: str
    summary: str


class Jobs:
    def __init__(self, db: Database, instance_id: str) -> None:
        self._db = db
        self._instance = instance_id

    @property
    def owner(self) -> str:
        return self._instance

    async def open(self, msg: Incoming, keys: JobKeys, kind: str, summary: str) -> Job:
        """Written before the gateway call. Silent when this update already started this job."""
        address = msg.address
        record = JobRecord(
            id=uuid.uuid4().hex,
            key=keys.next(),
            source=keys.source,
            kind=kind,
            state="started",
            instance_id=self._instance,
            chat_key=address.key,
            platform=address.platform,
            chat_id=address.chat_id,
            thread_id=address.thread_id,
            user_id=msg.user.id,
            user_name=msg.user.name,
            reply_to_message_id=msg.message_id,
            summary=summary[:300],
        )
        async with self._db.unit_of_work() as uow:
            if not await uow.jobs.add(record):
                log.warning("job %s already exists (a redelivered update); not started again", record.key)
                raise Silent
            await uow.commit()
        return Job(record.id, kind, record.summary)

    async def answered(
        self, uow: UnitOfWork, job: Job, gateway_id: str | None, results: Sequence[JobResult] = ()
    ) -> bool:
        """Inside the transaction that records the answer's usage: nothing of it can be lost.

        It is also the claim to send it (one sender only): False when the job is no longer
        this instance's (another took it over as an orphan and answers it); then nothing is
        stored and it is not sent from here.
        """
        mine = await uow.jobs.move(
            job.id, "answered", only_from=("started",), owner=self._instance, gateway_id=gateway_id
        )
        if mine:
            await uow.jobs.store_results(job.id, results)
        return mine

    async def delivered(self, job: Job, message_id: str | None, receipt: Receipt | None = None) -> None:
        """Done; with the `receipt` of the update that asked for it, that update is handled in
        the same transaction (nothing after this is paid for)."""
        async with self._db.unit_of_work() as uow:
            await uow.jobs.move(job.id, "done", result_message_id=message_id)
            await uow.jobs.drop_results(job.id)
            if receipt is not None and not receipt.marked:
                await uow.inbound.handled(receipt.platform, receipt.update_ids)
            await uow.commit()
        if receipt is not None:
            receipt.marked = True

    async def finish(self, job: Job, state: str, *, gateway_id: str | None = None) -> None:
        """failed (the user was told), submitted (a tracked Midjourney task), done, interrupted."""
        async with self._db.unit_of_work() as uow:
            await uow.jobs.move(job.id, state, gateway_id=gateway_id)
            await uow.commit()

    async def of_source(self, source: str) -> list[JobRecord]:
        async with self._db.unit_of_work() as uow:
            return await uow.jobs.by_source(source)

"""Durable jobs as the use cases drive them: an answer is sent by the job's owner only."""

from __future__ import annotations

from bot.lifecycle.jobs import JobKeys, Jobs
from bot.model import ChatAddress, ChatKind, Incoming, Receipt, User
from storage import Database, JobResult

MSG = Incoming(
    ChatAddress("tg", "42", ChatKind.PRIVATE),
    User("42", "ann"),
    message_id="7",
    receipt=Receipt("tg", ("1001",)),
)


async def test_an_answer_is_not_sent_by_an_instance_whose_job_was_taken_over(db: Database) -> None:
    """A replica wrongly thought gone: its job was claimed (and answered) by another."""
    mine, other = Jobs(db, "slow"), Jobs(db, "other")
    job = await mine.open(MSG, JobKeys(MSG.source), "image_generation", "a fox")
    async with db.unit_of_work() as uow:
        [claimed] = await uow.jobs.claim_orphans(["slow"], other.owner, platforms=["tg"])
        await uow.commit()
    async with db.unit_of_work() as uow:
        sends = await mine.answered(uow, job, "req-1", [JobResult("image/png", b"png")])
        await uow.commit()
    async with db.unit_of_work() as uow:
        stored = await uow.jobs.get(job.id)
        results = await uow.jobs.results(job.id)
    assert claimed.id == job.id and not sends
    assert stored is not None and stored.state == "started", "left to the instance that took it over"
    assert results == [], "nothing stored for a sender that will not send"


async def test_a_delivered_job_marks_the_update_that_asked_for_it_handled(db: Database) -> None:
    jobs = Jobs(db, "me")
    receipt = Receipt("tg", ("1001",))
    async with db.unit_of_work() as uow:
        assert await uow.inbound.record("tg", "1001", "{}", "me")
        await uow.commit()
    job = await jobs.open(MSG, JobKeys(MSG.source), "image_generation", "a fox")
    async with db.unit_of_work() as uow:
        assert await jobs.answered(uow, job, "req-1", [JobResult("image/png", b"png")])
        await uow.commit()
    await jobs.delivered(job, "55", receipt)
    async with db.unit_of_work() as uow:
        stored = await uow.jobs.get(job.id)
        orphans = await uow.inbound.claim_orphans("tg", ["me"], "next")
    assert receipt.marked and orphans == [], "handled with the job: never replayed"
    assert stored is not None and (stored.state, stored.result_message_id) == ("done", "55")

"""Group commit: many requests' writes share a transaction, and each caller gets its own outcome."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import event, func, insert, select

from storage import Database, Reservation, Reserved, UsageEvent
from storage.clock import utc_now
from storage.inbound import HANDLED, RECEIVED
from storage.tables import InboundRow, TurnRow, UsageEventRow
from storage.writer import Writer
from storage.writes import Journal, NewTurn, Writes, Written

from .conftest import add_chat
from .test_lifecycle import job

CHAT = "tg:-100123"


@pytest.fixture
async def writer(db: Database) -> AsyncIterator[Writer]:
    await add_chat(db, CHAT)
    writer = Writer(db)
    yield writer
    await writer.close()


def commits(db: Database) -> list[int]:
    """A list that grows by one on every real COMMIT of the engine."""
    seen: list[int] = []
    event.listen(db.engine.sync_engine, "commit", lambda _conn: seen.append(1))
    return seen


def turn(text: str, chat: str = CHAT) -> NewTurn:
    return NewTurn(chat, 0, "user", text, tokens=len(text), user_id="7")


def usage(key: str, chat: str = CHAT) -> UsageEvent:
    return UsageEvent(chat, "tg", "7", "Ann", "chat", "gpt-4o", 10, 5, 15, request_key=key)


def journal(update_id: str) -> Journal:
    return Journal("tg", update_id, "{}", "me")


def journal_row(update_id: str) -> dict[str, object]:
    return {
        "platform": "tg",
        "update_id": update_id,
        "payload": "{}",
        "state": RECEIVED,
        "instance_id": "other",
        "received_at": utc_now(),
    }


async def count(db: Database, table: type[TurnRow] | type[UsageEventRow]) -> int:
    async with db.engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(table)) or 0)


async def test_concurrent_requests_share_few_commits(db: Database, writer: Writer) -> None:
    seen = commits(db)
    results = await asyncio.gather(
        *(writer.write(Writes(turns=(turn(f"q{i}"),), events=(usage(f"r{i}"),))) for i in range(150))
    )
    assert all(result == Written() for result in results)
    assert await count(db, TurnRow) == 150
    assert await count(db, UsageEventRow) == 150
    # The first write commits alone; everything queued meanwhile goes in one or two more.
    assert 1 <= len(seen) <= 4, seen


async def test_a_bad_write_fails_only_its_own_caller(db: Database, writer: Writer) -> None:
    good = [writer.submit(Writes(turns=(turn(f"ok{i}"),))) for i in range(5)]
    bad = writer.submit(Writes(turns=(turn("orphan", chat="tg:unknown"),)))  # no such chat
    more = [writer.submit(Writes(events=(usage(f"e{i}"),))) for i in range(5)]

    outcomes = await asyncio.gather(*good, bad, *more, return_exceptions=True)

    failed = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(failed) == 1 and outcomes[5] is failed[0]
    assert await count(db, TurnRow) == 5
    assert await count(db, UsageEventRow) == 5


async def test_the_first_claimant_of_an_update_wins_even_within_one_batch(
    db: Database, writer: Writer
) -> None:
    await writer.write(Writes(journal=(journal("1"),)))
    first, second, old = await asyncio.gather(
        writer.write(Writes(journal=(journal("2"),))),
        writer.write(Writes(journal=(journal("2"),))),  # the same update delivered twice at once
        writer.write(Writes(journal=(journal("1"),))),  # journaled before: a redelivery
    )
    assert first.fresh == {("tg", "2")}
    assert second.fresh == frozenset()
    assert old.fresh == frozenset()


async def test_handled_marks_and_a_repeated_usage_event_are_written_once(
    db: Database, writer: Writer
) -> None:
    await writer.write(Writes(journal=(journal("5"), journal("6"))))
    await asyncio.gather(
        writer.write(Writes(events=(usage("same"),), handled=(("tg", "5"),))),
        writer.write(Writes(events=(usage("same"),))),  # a retried request: one ledger row
    )
    async with db.engine.connect() as conn:
        rows = await conn.execute(select(InboundRow.update_id, InboundRow.state))
    states = dict(rows.all())
    assert states == {"5": HANDLED, "6": RECEIVED}
    assert await count(db, UsageEventRow) == 1


async def test_close_commits_what_is_queued_and_refuses_more(db: Database, writer: Writer) -> None:
    queued = [writer.submit(Writes(turns=(turn(f"late{i}"),))) for i in range(20)]
    await writer.close()
    assert all(f.done() and f.exception() is None for f in queued)
    assert await count(db, TurnRow) == 20
    with pytest.raises(RuntimeError):
        writer.submit(Writes(turns=(turn("after"),)))


async def test_flushed_waits_for_everything_submitted_before(db: Database, writer: Writer) -> None:
    queued = [writer.submit(Writes(journal=(journal(str(i)),))) for i in range(30)]
    await writer.flushed()
    assert all(f.done() for f in queued)
    await writer.flushed()  # nothing queued: returns at once


async def test_a_cancelled_caller_does_not_cancel_the_commit(db: Database, writer: Writer) -> None:
    call = asyncio.create_task(writer.write(Writes(turns=(turn("kept"),))))
    await asyncio.sleep(0)
    call.cancel()
    await writer.flushed()
    assert await count(db, TurnRow) == 1


async def test_writes_after_the_writer_task_was_cancelled_still_commit(db: Database, writer: Writer) -> None:
    """The loop closing cancels every task at once: code still writing in a `finally` goes on."""
    await writer.write(Writes(turns=(turn("first"),)))
    running = writer._task  # the committing task, cancelled as the loop's shutdown would
    assert running is not None
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    await asyncio.wait_for(writer.write(Writes(turns=(turn("from a finally"),))), 10)
    assert await count(db, TurnRow) == 2


async def test_close_returns_when_the_writer_task_ended_already(db: Database, writer: Writer) -> None:
    """A writer whose task the closing loop cancelled is closed at once, not waited for."""
    await writer.write(Writes(turns=(turn("first"),)))
    running = writer._task
    assert running is not None
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    await asyncio.wait_for(writer.close(), 10)


async def test_a_close_cancelled_while_a_commit_waits_still_stops_the_writer(
    db: Database, writer: Writer
) -> None:
    """Shutdown cancels close() while a batch waits for a lock: the writer's task must end
    with it, not commit later and then wait on its queue for ever."""
    async with db.engine.connect() as other:
        # The same update journaled, uncommitted, by another connection: the batch waits.
        await other.execute(insert(InboundRow).values(**journal_row("1")))
        queued = writer.submit(Writes(journal=(journal("1"),)))
        await asyncio.sleep(0.3)
        assert not queued.done(), "the batch waits for the other transaction"
        closing = asyncio.create_task(writer.close())
        await asyncio.sleep(0.1)
        closing.cancel()
        await other.rollback()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(closing, 30)
    left = [t for t in asyncio.all_tasks() if t.get_name() == "group-commit" and not t.done()]
    assert left == [], "the writer's task outlived its close()"


async def test_a_turn_ends_its_tool_job_with_its_answer_but_never_a_job_taken_over(
    db: Database, writer: Writer
) -> None:
    async with db.unit_of_work() as uow:
        assert await uow.jobs.add(job("mine", key="tg:1#1"))
        assert await uow.jobs.add(job("claimed", key="tg:2#1", state="interrupted"))
        await uow.commit()
    await writer.write(Writes(events=(usage("turn"),), done_jobs=("mine", "claimed")))
    async with db.unit_of_work() as uow:
        states = {j.id: j.state for j in await uow.jobs.by_source("tg:1") + await uow.jobs.by_source("tg:2")}
    assert states == {"mine": "done", "claimed": "interrupted"}


def test_writes_merged_keep_each_kind_in_the_order_given() -> None:
    parts = [Writes(turns=(turn(f"q{i}"),), released=(i,), handled=(("tg", str(i)),)) for i in range(5)]
    merged = Writes.merged(parts)
    assert [t.content for t in merged.turns] == [f"q{i}" for i in range(5)]
    assert merged.released == (0, 1, 2, 3, 4)
    assert merged == parts[0] + parts[1] + parts[2] + parts[3] + parts[4]
    assert Writes.merged([]) == Writes()


async def test_writes_end_exactly_the_budget_reservations_they_name(db: Database, writer: Writer) -> None:
    now = utc_now()
    async with db.unit_of_work() as uow:
        ids = await uow.budgets.reserve_many(
            Reservation(CHAT, "7", now + timedelta(minutes=5), tokens=5) for _ in range(3)
        )
        await uow.commit()
    await asyncio.gather(writer.write(Writes(released=(ids[0],))), writer.write(Writes(released=(ids[2],))))
    async with db.unit_of_work() as uow:
        assert (await uow.budgets.reserved(CHAT, now)).count == 1
        assert await uow.budgets.reserved(CHAT, now, excluding=ids[1]) == Reserved()

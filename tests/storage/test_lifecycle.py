"""What crash safety stands on: liveness locks, durable jobs, the inbound journal, task leases."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

from storage import Database, JobRecord, JobResult, MjTaskRecord
from storage.clock import utc_now
from storage.instances import liveness_for

from .conftest import add_chat

CHAT = "tg:-100123"
REPO = Path(__file__).resolve().parents[2]


async def test_a_killed_process_is_gone_at_once(db: Database, database_url: str) -> None:
    """The liveness lock of a process dies with it (SIGKILL): no timeout to wait out."""
    holder = textwrap.dedent(
        f"""
        import asyncio, sys
        from storage import Database
        from storage.instances import liveness_for

        async def main():
            db = Database({database_url!r})
            liveness = liveness_for(db.engine)
            await liveness.hold("other")
            print("held", flush=True)
            await asyncio.sleep(3600)

        asyncio.run(main())
        """
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        holder,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        assert await asyncio.wait_for(process.stdout.readline(), 30) == b"held\n"
        mine = liveness_for(db.engine)
        await mine.hold("me")
        assert await mine.alive(["me", "other", "never"]) == {"me", "other"}
        process.send_signal(signal.SIGKILL)
        await process.wait()
        for _ in range(50):  # the server notices a dropped connection within moments
            if await mine.alive(["other"]) == set():
                break
            await asyncio.sleep(0.1)
        assert await mine.alive(["me", "other"]) == {"me"}
        await mine.release()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def job(job_id: str, key: str | None = "tg:1#1", owner: str = "dead", state: str = "started") -> JobRecord:
    return JobRecord(
        id=job_id,
        key=key,
        source=key.split("#")[0] if key else None,
        kind="image_generation",
        state=state,
        instance_id=owner,
        chat_key=CHAT,
        platform="tg",
        chat_id="-100123",
        thread_id=None,
        user_id="7",
        user_name="ann",
        reply_to_message_id="5",
        summary="a fox",
    )


async def test_a_job_is_keyed_once_and_moves_only_from_the_states_asked(db: Database) -> None:
    async with db.unit_of_work() as uow:
        assert await uow.jobs.add(job("a"))
        assert not await uow.jobs.add(job("b")), "the same update's job again: refused"
        await uow.jobs.store_results("a", [JobResult("image/png", b"png")])
        assert await uow.jobs.move("a", "answered", gateway_id="req-1")
        await uow.commit()
    async with db.unit_of_work() as uow:
        assert await uow.jobs.move("a", "delivering", only_from=("answered",), owner="dead")
        assert not await uow.jobs.move("a", "delivering", only_from=("answered",)), "one sender only"
        assert [r.data for r in await uow.jobs.results("a")] == [b"png"]
        await uow.commit()
    async with db.unit_of_work() as uow:
        stored = await uow.jobs.get("a")
    assert stored is not None and (stored.state, stored.gateway_id) == ("delivering", "req-1")


async def test_orphans_are_claimed_by_one_instance_on_its_platforms(db: Database) -> None:
    async with db.unit_of_work() as uow:
        await uow.jobs.add(job("open", key="tg:1#1"))
        await uow.jobs.add(job("done", key="tg:2#1", state="done"))
        await uow.jobs.add(job("alive", key="tg:3#1", owner="alive"))
        await uow.commit()
    async with db.unit_of_work() as uow:
        claimed = await uow.jobs.claim_orphans(["dead"], "me", platforms=["dc"])
        assert claimed == [], "no Telegram messenger here: left for a replica that has one"
        claimed = await uow.jobs.claim_orphans(["dead"], "me", platforms=["tg"])
        await uow.commit()
    assert [j.id for j in claimed] == ["open"] and claimed[0].instance_id == "me"
    async with db.unit_of_work() as uow:
        assert await uow.jobs.claim_orphans(["dead"], "someone", platforms=["tg"]) == []


async def test_the_journal_drops_a_redelivery_and_hands_over_what_was_never_handled(db: Database) -> None:
    async with db.unit_of_work() as uow:
        assert await uow.inbound.record("tg", "100", "{}", "dead")
        assert not await uow.inbound.record("tg", "100", "{}", "other"), "the same update_id again"
        assert await uow.inbound.record("tg", "101", '{"n": 101}', "dead")
        assert await uow.inbound.record("dc", "900", "{}", "dead")
        await uow.inbound.handled("tg", ["100"])
        await uow.commit()
    async with db.unit_of_work() as uow:
        taken = await uow.inbound.claim_orphans("tg", ["dead"], "me")
        await uow.commit()
    assert [(u.update_id, u.payload) for u in taken] == [("101", '{"n": 101}')]


def task(task_id: str, platform: str = "tg") -> MjTaskRecord:
    return MjTaskRecord(
        task_id=task_id,
        chat_key=CHAT,
        platform=platform,
        chat_id="-100123",
        user_id="7",
        user_name="ann",
        action="IMAGINE",
        prompt="a harbour",
    )


async def test_a_task_is_followed_by_one_lease_holder_at_a_time(db: Database) -> None:
    await add_chat(db, CHAT)
    soon = utc_now() + timedelta(seconds=60)
    async with db.unit_of_work() as uow:
        for task_id in ("1", "2"):
            await uow.mj_tasks.add(task(task_id))
        await uow.commit()
    async with db.unit_of_work() as uow:
        first = await uow.mj_tasks.claim("a", soon, platforms=["tg"])
        await uow.commit()
    async with db.unit_of_work() as uow:
        second = await uow.mj_tasks.claim("b", soon, platforms=["tg"])
        taken_over = await uow.mj_tasks.claim("b", soon, platforms=["tg"], gone=["a"])
        await uow.commit()
    assert [t.task_id for t in first] == ["1", "2"] and second == []
    assert [t.task_id for t in taken_over] == ["1", "2"], "the holder is gone: taken at once"
    async with db.unit_of_work() as uow:
        assert not await uow.mj_tasks.renew("1", "a", soon), "a lapsed owner cannot renew"
        assert not await uow.mj_tasks.mark_delivered("1", "99", owner="a"), "nor deliver"
        assert await uow.mj_tasks.mark_delivered("1", "99", owner="b")
        await uow.commit()
    async with db.unit_of_work() as uow:
        late = await uow.mj_tasks.claim("c", utc_now() + timedelta(seconds=60), platforms=["tg"])
        await uow.mj_tasks.release("b")
        released = await uow.mj_tasks.claim("c", soon, platforms=["tg"])
        await uow.commit()
    assert late == [], "b still holds task 2"
    assert [t.task_id for t in released] == ["2"], "a clean stop hands its tasks back"


async def test_a_task_is_left_to_its_handler_until_its_status_message_is_stored(db: Database) -> None:
    await add_chat(db, CHAT)
    soon = utc_now() + timedelta(seconds=60)
    async with db.unit_of_work() as uow:
        await uow.mj_tasks.add(task("1"))
        await uow.commit()
    async with db.unit_of_work() as uow:
        posting = await uow.mj_tasks.claim(
            "a", soon, platforms=["tg"], unposted_before=utc_now() - timedelta(seconds=10)
        )
        await uow.mj_tasks.set_status_message("1", "55")
        posted = await uow.mj_tasks.claim(
            "a", soon, platforms=["tg"], unposted_before=utc_now() - timedelta(seconds=10)
        )
        await uow.commit()
    assert posting == [] and [(t.task_id, t.status_message_id) for t in posted] == [("1", "55")]
    async with db.unit_of_work() as uow:
        await uow.mj_tasks.add(task("2"))
        await uow.commit()
    async with db.unit_of_work() as uow:
        orphaned = await uow.mj_tasks.claim(
            "a", soon, platforms=["tg"], unposted_before=utc_now() + timedelta(seconds=1)
        )
        await uow.commit()
    assert [t.task_id for t in orphaned] == ["1", "2"], "past the grace, a task without one is followed"


async def test_a_lapsed_lease_is_free(db: Database) -> None:
    await add_chat(db, CHAT)
    async with db.unit_of_work() as uow:
        await uow.mj_tasks.add(task("1"))
        await uow.mj_tasks.claim("a", utc_now() - timedelta(seconds=1), platforms=["tg"])
        await uow.commit()
    async with db.unit_of_work() as uow:
        taken = await uow.mj_tasks.claim("b", utc_now() + timedelta(seconds=60), platforms=["tg"])
    assert [t.task_id for t in taken] == ["1"]

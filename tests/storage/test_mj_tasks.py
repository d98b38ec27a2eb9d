from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import IntegrityError

from storage import FINISHED_MJ_STATUSES, Database, MjButton, MjTaskRecord, RecordNotFound

from .conftest import add_chat

CHAT = "dc:600"
TASK = "1732112345678901"  # Midjourney ids: long digit strings


def imagine(task_id: str = TASK, **extra: object) -> MjTaskRecord:
    return MjTaskRecord(
        task_id=task_id,
        chat_key=CHAT,
        platform="dc",
        chat_id="600",
        thread_id="601",
        user_id="7",
        user_name="Ann",
        reply_to_message_id="1234567890123456789",
        action="IMAGINE",
        prompt="a lighthouse at dusk --ar 3:2",
        **extra,  # type: ignore[arg-type]
    )


async def test_lifecycle_survives_a_restart(db: Database, open_db: Callable[[], Database]) -> None:
    await add_chat(db, CHAT)
    async with db.unit_of_work() as uow:
        await uow.mj_tasks.add(imagine())
        await uow.mj_tasks.set_status_message(TASK, "1234567890123456790")
        await uow.mj_tasks.update_state(TASK, "IN_PROGRESS", "37%", image_url="https://cdn/preview.png")
        await uow.commit()

    restarted = open_db()
    await restarted.migrate()
    async with restarted.unit_of_work() as uow:
        [pending] = await uow.mj_tasks.pending()
    assert pending.task_id == TASK
    assert (pending.status, pending.progress, pending.finished_at) == ("IN_PROGRESS", "37%", None)
    assert pending.status_message_id == "1234567890123456790"
    assert pending.image_url == "https://cdn/preview.png"

    buttons = (MjButton("MJ::JOB::upsample::1::abc", "U1"), MjButton("MJ::JOB::reroll::0::abc", "", "🔄"))
    async with restarted.unit_of_work() as uow:
        done = await uow.mj_tasks.update_state(
            TASK, "SUCCESS", "100%", image_url="https://cdn/final.png", buttons=buttons
        )
        await uow.mj_tasks.mark_delivered(TASK, result_message_id="1234567890123456791")
        await uow.commit()
    assert done.status in FINISHED_MJ_STATUSES
    assert done.finished_at is not None

    async with restarted.unit_of_work() as uow:
        stored = await uow.mj_tasks.get(TASK)
        assert await uow.mj_tasks.pending() == []
    assert stored is not None
    assert stored.delivered
    assert stored.buttons == buttons
    assert stored.image_url == "https://cdn/final.png"
    assert stored.result_message_id == "1234567890123456791"
    assert stored.finished_at == done.finished_at
    assert stored.created_at <= stored.updated_at
    assert stored.updated_at.tzinfo is not None


async def test_update_keeps_what_a_poll_did_not_report(db: Database) -> None:
    await add_chat(db, CHAT)
    async with db.unit_of_work() as uow:
        await uow.mj_tasks.add(imagine(buttons=(MjButton("a", "A"),)))
        await uow.mj_tasks.update_state(TASK, "IN_PROGRESS", "10%", image_url="https://cdn/p.png")
        later = await uow.mj_tasks.update_state(TASK, "FAILURE", "", fail_reason="banned prompt")
    assert later.image_url == "https://cdn/p.png"
    assert later.buttons == (MjButton("a", "A"),)
    assert later.fail_reason == "banned prompt"
    assert later.finished_at is not None


async def test_pending_is_oldest_first_and_skips_delivered(db: Database) -> None:
    await add_chat(db, CHAT)
    async with db.unit_of_work() as uow:
        for minute, task_id in enumerate(("3", "1", "2")):
            await uow.mj_tasks.add(imagine(task_id, created_at=datetime(2025, 3, 1, 12, minute, tzinfo=UTC)))
        await uow.mj_tasks.mark_delivered("1")
        await uow.commit()
    async with db.unit_of_work() as uow:
        assert [t.task_id for t in await uow.mj_tasks.pending()] == ["3", "2"]


async def test_count_pending_is_per_chat_and_skips_delivered(db: Database) -> None:
    await add_chat(db, CHAT)
    await add_chat(db, "tg:600")
    async with db.unit_of_work() as uow:
        for task_id in ("1", "2", "3"):
            await uow.mj_tasks.add(imagine(task_id))
        await uow.mj_tasks.add(
            MjTaskRecord(**{**imagine("4").__dict__, "chat_key": "tg:600", "platform": "tg"})
        )
        await uow.mj_tasks.mark_delivered("1")
        await uow.commit()
    async with db.unit_of_work() as uow:
        assert await uow.mj_tasks.count_pending(CHAT) == 2
        assert await uow.mj_tasks.count_pending("tg:600") == 1
        assert await uow.mj_tasks.count_pending("tg:nowhere") == 0


async def test_task_ids_are_unique_and_must_exist(db: Database) -> None:
    await add_chat(db, CHAT)
    async with db.unit_of_work() as uow:
        await uow.mj_tasks.add(imagine())
        with pytest.raises(IntegrityError):
            await uow.mj_tasks.add(imagine())
    async with db.unit_of_work() as uow:
        assert await uow.mj_tasks.get("0000") is None
        assert not await uow.mj_tasks.mark_delivered("0000"), "nothing to mark"
        with pytest.raises(RecordNotFound):
            await uow.mj_tasks.update_state("0000", "SUCCESS", "100%")

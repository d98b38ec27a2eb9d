"""Prompt requests for tasks waiting in MODAL, and resuming such a task with its answer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from storage import Database, MjTaskRecord
from storage.clock import utc_now

from .conftest import add_chat

CHAT = "tg:-100500"
TASK = "1732112345678901"


def custom_zoom() -> MjTaskRecord:
    """A custom zoom started ten minutes ago, its status in message 41."""
    return MjTaskRecord(
        task_id=TASK,
        chat_key=CHAT,
        platform="tg",
        chat_id="-100500",
        user_id="7",
        user_name="Ann",
        action="CUSTOM_ZOOM",
        prompt="Custom Zoom · a tower",
        status_message_id="41",
        created_at=utc_now() - timedelta(minutes=10),
    )


async def test_one_request_per_task_answered_once_until_it_expires(
    db: Database, open_db: Callable[[], Database]
) -> None:
    soon = utc_now() + timedelta(minutes=15)
    async with db.unit_of_work() as uow:
        first = await uow.mj_prompts.open(
            "r1", TASK, chat_key=CHAT, user_id="7", action="CUSTOM_ZOOM", expires_at=soon
        )
        again = await uow.mj_prompts.open(
            "r2", TASK, chat_key=CHAT, user_id="8", action="CUSTOM_ZOOM", expires_at=soon
        )
        await uow.mj_prompts.set_message(first.id, "42")
        await uow.commit()
    assert again == first and first.id == "r1" and first.message_id is None
    restarted = open_db()  # what was asked survives a restart
    try:
        async with restarted.unit_of_work() as uow:
            asked = await uow.mj_prompts.asked_in(CHAT, "42")
            assert asked is not None and asked.task_id == TASK and asked.user_id == "7"
            assert await uow.mj_prompts.asked_in("tg:-100501", "42") is None
            assert await uow.mj_prompts.answer("r1", utc_now())
            assert not await uow.mj_prompts.answer("r1", utc_now()), "answered once"
            await uow.commit()
            late = await uow.mj_prompts.open(
                "r3", "999", chat_key=CHAT, user_id="7", action="VARIATION", expires_at=utc_now()
            )
            assert not await uow.mj_prompts.answer(late.id, utc_now() + timedelta(seconds=1))
    finally:
        await restarted.dispose()


async def test_a_resumed_task_runs_again_with_the_new_prompt(db: Database) -> None:
    await add_chat(db, CHAT)
    record = custom_zoom()
    soon, grace = utc_now() + timedelta(minutes=1), utc_now() - timedelta(seconds=10)
    async with db.unit_of_work() as uow:
        await uow.mj_tasks.add(record)
        await uow.mj_tasks.update_state(TASK, "MODAL", "0%")
        assert [t.task_id for t in await uow.mj_tasks.claim("a", soon, platforms=["tg"])] == [TASK]
        await uow.mj_tasks.hold(TASK, "answer:j2", soon)  # a reply answers it: tracker "a" lets go
        held = await uow.mj_tasks.claim("a", soon, platforms=["tg"])
        assert not await uow.mj_tasks.renew(TASK, "a", soon)
        assert await uow.mj_tasks.resume(TASK, "a tower --zoom 2", job_id="j2")
        await uow.commit()
        resumed = await uow.mj_tasks.get(TASK)
        waiting = await uow.mj_tasks.claim("a", soon, platforms=["tg"], unposted_before=grace)
    assert held == [], "a held task is not tracked"
    assert resumed is not None
    assert (resumed.status, resumed.prompt, resumed.job_id) == ("", "a tower --zoom 2", "j2")
    assert utc_now() - resumed.created_at < timedelta(minutes=1), "the deadline counts from the modal"
    assert resumed.status_message_id is None and waiting == [], "left to the handler posting the new status"
    async with db.unit_of_work() as uow:
        await uow.mj_tasks.mark_delivered(TASK)
        assert not await uow.mj_tasks.resume(TASK, "again", job_id="j3")
        await uow.mj_tasks.update_state(TASK, "SUCCESS", "100%", final_prompt="1️⃣ a")
        await uow.commit()
        done = await uow.mj_tasks.get(TASK)
    assert done is not None and done.final_prompt == "1️⃣ a"


async def test_a_released_hold_returns_the_task_to_the_trackers(db: Database) -> None:
    """The gateway refused the answer: the task waits on, tracked, in its old status message."""
    await add_chat(db, CHAT)
    record = custom_zoom()
    soon, past = utc_now() + timedelta(minutes=1), utc_now() - timedelta(seconds=1)
    async with db.unit_of_work() as uow:
        await uow.mj_tasks.add(record)
        await uow.mj_tasks.hold(TASK, "answer:j2", soon)
        await uow.mj_tasks.release("answer:j3")  # not its holder: nothing changes
        assert await uow.mj_tasks.claim("a", soon, platforms=["tg"]) == []
        await uow.mj_tasks.release("answer:j2")
        [back] = await uow.mj_tasks.claim("a", soon, platforms=["tg"])
        await uow.mj_tasks.hold(TASK, "answer:j4", past)  # a handler that died: its hold runs out
        [expired] = await uow.mj_tasks.claim("b", soon, platforms=["tg"])
        await uow.commit()
    assert back.status_message_id == "41" and back.prompt == "Custom Zoom · a tower"
    assert expired.task_id == TASK

"""Admins' allow/deny per chat, and the one-time refusal, on a real database."""

from __future__ import annotations

from storage import Database


async def test_a_rule_is_set_changed_and_listed(db: Database) -> None:
    async with db.unit_of_work() as uow:
        assert await uow.access.rule("tg:-1") is None
        await uow.access.set_rule("tg:-1", True, "tg:7")
        await uow.access.set_rule("dc:5", False, "dc:9")
        await uow.commit()
    async with db.unit_of_work() as uow:
        await uow.access.set_rule("tg:-1", False, "tg:7")
        await uow.commit()
    async with db.unit_of_work() as uow:
        assert await uow.access.rule("tg:-1") is False
        assert await uow.access.rule("dc:5") is False


async def test_a_subject_is_refused_out_loud_only_once(db: Database) -> None:
    async with db.unit_of_work() as uow:
        assert await uow.access.first_refusal("tg:-1")
        assert not await uow.access.first_refusal("tg:-1")
        await uow.commit()
    async with db.unit_of_work() as uow:  # also after a restart: it is in the database
        assert not await uow.access.first_refusal("tg:-1")
        await uow.access.forget_refusal("tg:-1")
        assert await uow.access.first_refusal("tg:-1")

"""Budget limits per chat and reservations of requests in flight, on a real database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event

from storage import BudgetLimit, Database, Reservation, Reserved, UsageEvent

from .conftest import add_chat

NOW = datetime(2025, 3, 1, 12, tzinfo=UTC)
CHAT = "tg:-100123"


async def test_limits_are_set_replaced_and_cleared(db: Database) -> None:
    async with db.unit_of_work() as uow:
        await uow.budgets.set_limit(BudgetLimit(CHAT, "chat", "day", "cost", Decimal("5"), "tg:1"))
        await uow.budgets.set_limit(BudgetLimit(CHAT, "user", "month", "images", None, "tg:1"))
        await uow.budgets.set_limit(BudgetLimit("tg:other", "chat", "day", "cost", Decimal(1), "tg:1"))
        await uow.commit()
    async with db.unit_of_work() as uow:
        await uow.budgets.set_limit(BudgetLimit(CHAT, "chat", "day", "cost", Decimal("7.5"), "tg:2"))
        await uow.commit()
    async with db.unit_of_work() as uow:
        limits = sorted(await uow.budgets.limits(CHAT), key=lambda limit: limit.scope)
    assert limits == [
        BudgetLimit(CHAT, "chat", "day", "cost", Decimal("7.5"), "tg:2"),
        BudgetLimit(CHAT, "user", "month", "images", None, "tg:1"),
    ]
    async with db.unit_of_work() as uow:
        assert await uow.budgets.clear_limit(CHAT, "chat", "day", "cost")
        assert not await uow.budgets.clear_limit(CHAT, "chat", "day", "cost")
        await uow.commit()
    async with db.unit_of_work() as uow:
        assert [limit.scope for limit in await uow.budgets.limits(CHAT)] == ["user"]


LATER = NOW + timedelta(minutes=5)


async def reserve(db: Database, user: str = "1", expires: datetime = LATER, **kw: int) -> int:
    async with db.unit_of_work() as uow:
        reservation = await uow.budgets.reserve(Reservation(CHAT, user, expires, **kw))  # type: ignore[arg-type]
        await uow.commit()
    return reservation


async def test_live_reservations_are_summed_per_chat_and_user(db: Database) -> None:
    first = await reserve(db, "1", images=1, tokens=100)
    await reserve(db, "2", images=2)
    await reserve(db, "1", expires=NOW - timedelta(seconds=1), images=50)  # expired: a crash long ago
    async with db.unit_of_work() as uow:
        everyone = await uow.budgets.reserved(CHAT, NOW)
        ann = await uow.budgets.reserved(CHAT, NOW, user_id="1")
        others = await uow.budgets.reserved(CHAT, NOW, excluding=first)
        elsewhere = await uow.budgets.reserved("tg:nope", NOW)
    assert everyone == Reserved(Decimal(0), 100, 3, 0, 2)
    assert ann == Reserved(Decimal(0), 100, 1, 0, 1)
    assert others == Reserved(Decimal(0), 0, 2, 0, 1)
    assert elsewhere == Reserved()


async def test_recorded_usage_is_consumed_from_a_reservation_never_below_zero(db: Database) -> None:
    reservation = await reserve(db, images=1, mj_tasks=0, tokens=1000)
    async with db.unit_of_work() as uow:
        await uow.budgets.consume(reservation, cost=Decimal("0.5"), tokens=300, images=1, mj_tasks=1)
        await uow.commit()
    async with db.unit_of_work() as uow:
        assert await uow.budgets.reserved(CHAT, NOW) == Reserved(Decimal(0), 700, 0, 0, 1)
        await uow.budgets.release(reservation)
        await uow.budgets.release(reservation)  # releasing twice is harmless
        await uow.commit()
    async with db.unit_of_work() as uow:
        assert await uow.budgets.reserved(CHAT, NOW) == Reserved()


async def test_expired_reservations_are_purged(db: Database) -> None:
    await reserve(db, expires=NOW - timedelta(minutes=1))
    await reserve(db, expires=NOW + timedelta(minutes=1))
    async with db.unit_of_work() as uow:
        assert await uow.budgets.purge_expired(NOW) == 1
        await uow.commit()
    async with db.unit_of_work() as uow:
        assert (await uow.budgets.reserved(CHAT, NOW - timedelta(hours=1))).count == 1


async def test_reservations_made_together_get_their_ids_in_the_order_given(db: Database) -> None:
    """One statement for a whole batch of admissions; each admission must get its own row."""
    later = NOW + timedelta(minutes=5)
    statements: list[str] = []
    async with db.unit_of_work() as uow:
        await uow.budgets.reserve(Reservation(CHAT, "0", later, tokens=1))  # ids do not start at 1
        event.listen(db.engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        ids = await uow.budgets.reserve_many(
            Reservation(CHAT, str(n % 3), later, tokens=100 + n, images=n) for n in range(150)
        )
        await uow.commit()
    assert len(statements) == 1, "one INSERT for the batch, not one per row"
    assert len(set(ids)) == 150
    async with db.unit_of_work() as uow:
        for n in (0, 77, 149):
            others = await uow.budgets.reserved(CHAT, NOW, user_id=str(n % 3), excluding=ids[n])
            everyone = await uow.budgets.reserved(CHAT, NOW, user_id=str(n % 3))
            assert everyone.tokens - others.tokens == 100 + n and everyone.images - others.images == n


@pytest.mark.postgres
async def test_chats_locked_together_hold_off_another_admission_in_one_of_them(db: Database) -> None:
    """Replicas admitting in the same chat take turns: the batch lock is the single-chat lock."""
    order: list[str] = []

    async def another_replica() -> None:
        async with db.unit_of_work() as uow:
            await uow.budgets.lock_chat("tg:b")
            order.append("the other admits")
            await uow.commit()

    async with db.unit_of_work() as uow:
        await uow.budgets.lock_chats(["tg:a", "tg:b"])
        other = asyncio.create_task(another_replica())
        await asyncio.sleep(0.3)
        order.append("the batch commits")
        await uow.commit()
    await other
    assert order == ["the batch commits", "the other admits"]


async def test_a_batch_reads_limits_spending_and_holds_of_many_chats_at_once(db: Database) -> None:
    """The three queries of a batch of admissions, each for a list of chats (any length)."""
    other = "tg:-100999"
    await add_chat(db, CHAT)
    await add_chat(db, other)
    async with db.unit_of_work() as uow:
        await uow.budgets.set_limit(BudgetLimit(CHAT, "chat", "day", "cost", Decimal("5"), "tg:1"))
        await uow.budgets.set_limit(BudgetLimit(other, "user", "month", "images", None, "tg:1"))
        for chat, user, when, images in (
            (CHAT, "1", NOW, 2),
            (CHAT, "1", NOW, 3),
            (CHAT, "2", NOW, 1),
            (other, "1", NOW, 4),
            (CHAT, "1", NOW - timedelta(days=2), 50),  # before the period asked about
        ):
            event = UsageEvent(chat, "tg", user, "Ann", "image", "dall-e-3", images=images, created_at=when)
            await uow.usage.add(event)
        await uow.budgets.reserve(Reservation(CHAT, "2", LATER, tokens=10))
        await uow.budgets.reserve(Reservation(other, "1", LATER, images=1))
        await uow.budgets.reserve(Reservation(other, "1", NOW - timedelta(seconds=1), images=9))  # expired
        await uow.commit()
    since = NOW - timedelta(hours=1)
    async with db.unit_of_work() as uow:
        limits = await uow.budgets.limits_of([CHAT, other, "tg:none"])
        spent = await uow.budgets.spent_by_user([CHAT, other, "tg:none"], since)
        held = await uow.budgets.reserved_by_user([CHAT, other], NOW)
        # The same statements with a list of another length (PostgreSQL binds it as one array).
        just_one = await uow.budgets.spent_by_user([other], since)
        nothing = await uow.budgets.reserved_by_user([], NOW)
    assert {chat: [(lim.scope, lim.amount) for lim in found] for chat, found in limits.items()} == {
        CHAT: [("chat", Decimal("5"))],
        other: [("user", None)],
    }
    assert {key: value.images for key, value in spent.items()} == {
        (CHAT, "1"): 5,
        (CHAT, "2"): 1,
        (other, "1"): 4,
    }
    assert {key: value.count for key, value in spent.items()} == {
        (CHAT, "1"): 2,
        (CHAT, "2"): 1,
        (other, "1"): 1,
    }
    assert held == {
        (CHAT, "2"): Reserved(Decimal(0), 10, 0, 0, 1),
        (other, "1"): Reserved(Decimal(0), 0, 1, 0, 1),
    }
    assert set(just_one) == {(other, "1")}
    assert nothing == {}

"""Budget limits per chat and reservations of requests in flight, on a real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from storage import BudgetLimit, Database, Reservation, Reserved

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

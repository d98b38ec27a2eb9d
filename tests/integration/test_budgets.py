"""Budgets against a real database: refusals, reserve-then-settle, concurrency, integrity."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bot.errors import BudgetExceeded
from bot.model import ChatAddress, ChatKind, User
from bot.usage.budgets import NO_HOLD, Budgets, Estimate, Hold
from bot.usage.ledger import Ledger
from bot.usage.limits import parse_limit, parse_limits
from bot.usage.pricing import load_prices
from bot.usage.recorder import Recorder
from storage import Database, Reservation, Reserved

PRICES = load_prices()
NOW = datetime(2025, 3, 13, 21, 30, tzinfo=UTC)
GROUP = ChatAddress("tg", "-100", ChatKind.GROUP, title="Team")
ANN, BOB = User("1", "ann"), User("2", "bob")
IMAGE = Estimate(cost=Decimal("0.042"), images=1)


def budgets(db: Database, limits: str) -> Budgets:
    return Budgets(db, PRICES, parse_limits(limits), clock=lambda: NOW)


async def record_image(
    db: Database, user: User = ANN, request_key: str | None = None, hold: Hold = NO_HOLD
) -> None:
    recorder = Recorder(Ledger(PRICES), db)
    async with db.unit_of_work() as uow:
        await uow.chats.ensure(GROUP.key, "tg", GROUP.chat_id, "group", GROUP.title)
        event = recorder.ledger.event(GROUP, user, "image_generation", "gpt-image-1", request_key=request_key)
        await recorder.add(uow, replace(event, images=1, created_at=NOW), hold)
        await uow.commit()


async def reservations(db: Database) -> Reserved:
    async with db.unit_of_work() as uow:
        return await uow.budgets.reserved(GROUP.key, NOW)


async def test_a_used_up_limit_is_refused_naming_it_and_its_reset(db: Database) -> None:
    service = budgets(db, "chat.day.images=2")
    await record_image(db)
    await record_image(db, BOB)
    with pytest.raises(BudgetExceeded) as refused:
        async with service.hold(GROUP.key, ANN.id, IMAGE):
            raise AssertionError("must not be admitted")
    assert str(refused.value) == (
        "⛔ This chat's daily image budget is used up (2 images). It resets at 00:00 UTC (in 2 h 30 min)."
    )
    assert await reservations(db) == Reserved(), "a refusal holds nothing"


async def test_what_is_left_is_told_when_a_request_does_not_fit(db: Database) -> None:
    service = budgets(db, "user.month.cost=0.05")
    await record_image(db)  # $0.042 of $0.05
    with pytest.raises(BudgetExceeded) as refused:
        async with service.hold(GROUP.key, ANN.id, IMAGE):
            pass
    assert "Your monthly spending budget in this chat would be exceeded" in str(refused.value)
    assert "needs about $0.0420, $0.0080 of $0.0500 is left" in str(refused.value)
    assert "resets on Apr 1 00:00 UTC (in 18 d 2 h)" in str(refused.value)
    async with service.hold(GROUP.key, BOB.id, IMAGE):
        pass  # a per-user limit: Bob has his own


async def test_a_chat_limit_overrides_the_default_until_cleared(db: Database) -> None:
    service = budgets(db, "chat.day.images=0")
    key, _ = parse_limit("chat.day.images=off")
    with pytest.raises(BudgetExceeded):
        async with service.hold(GROUP.key, ANN.id, IMAGE):
            pass
    await service.set_limit(GROUP.key, key, None, "tg:9", as_ceiling=True)
    async with service.hold(GROUP.key, ANN.id, IMAGE):
        pass
    await service.clear_limit(GROUP.key, key, by_bot_admin=True)
    with pytest.raises(BudgetExceeded):
        async with service.hold(GROUP.key, ANN.id, IMAGE):
            pass


async def test_a_chat_known_to_have_no_limits_is_held_only_by_the_defaults(db: Database) -> None:
    """`own_limits` comes from the message's first read; the operator's defaults still apply."""
    await record_image(db)
    async with budgets(db, "").hold(GROUP.key, ANN.id, IMAGE, own_limits=False) as free:
        assert free.reservation is None and await reservations(db) == Reserved()
    with pytest.raises(BudgetExceeded):
        async with budgets(db, "chat.day.images=1").hold(GROUP.key, ANN.id, IMAGE, own_limits=False):
            raise AssertionError("must not be admitted")


async def test_limits_on_other_metrics_do_not_hold_a_request(db: Database) -> None:
    service = budgets(db, "chat.day.mj=0, chat.day.tokens=0")
    async with service.hold(GROUP.key, ANN.id, IMAGE):
        assert await reservations(db) == Reserved(), "nothing to reserve against"


async def test_concurrent_requests_cannot_overshoot(db: Database) -> None:
    service = budgets(db, "chat.day.images=3")
    admitted: list[int] = []
    everyone_tried = asyncio.Event()
    attempts = 0

    async def request(n: int) -> None:
        nonlocal attempts
        try:
            async with service.hold(GROUP.key, ANN.id, IMAGE) as hold:
                admitted.append(n)
                attempts += 1
                if attempts == 10:
                    everyone_tried.set()
                await everyone_tried.wait()  # all in flight at once
                await record_image(db, hold=hold)
        except BudgetExceeded:
            attempts += 1
            if attempts == 10:
                everyone_tried.set()

    await asyncio.gather(*(request(n) for n in range(10)))
    assert len(admitted) == 3
    async with db.unit_of_work() as uow:
        assert (await uow.usage.totals(GROUP.key)).images == 3
    assert await reservations(db) == Reserved(), "every reservation settled or released"


async def test_recording_settles_the_reservation_in_the_same_transaction(db: Database) -> None:
    service = budgets(db, "chat.day.images=5")
    async with service.hold(GROUP.key, ANN.id, Estimate(images=2, tokens=10)) as hold:
        assert await reservations(db) == Reserved(Decimal(0), 10, 2, 0, 1)
        await record_image(db, request_key="img-1", hold=hold)
        assert await reservations(db) == Reserved(Decimal(0), 10, 1, 0, 1), "one image settled"
        await record_image(db, request_key="img-1", hold=hold)  # the same gateway answer again
        assert await reservations(db) == Reserved(Decimal(0), 10, 1, 0, 1), "not settled twice"
    assert await reservations(db) == Reserved()
    async with db.unit_of_work() as uow:
        assert (await uow.usage.totals(GROUP.key)).images == 1, "a retried call is recorded once"


async def test_a_failed_request_releases_its_reservation_and_records_nothing(db: Database) -> None:
    service = budgets(db, "chat.day.images=1")
    with pytest.raises(RuntimeError):
        async with service.hold(GROUP.key, ANN.id, IMAGE):
            raise RuntimeError("gateway down")
    async with service.hold(GROUP.key, ANN.id, IMAGE):
        pass  # the failed attempt used nothing


async def test_a_reservation_left_by_a_crash_expires(db: Database) -> None:
    service = budgets(db, "chat.day.images=1")
    async with db.unit_of_work() as uow:
        await uow.budgets.reserve(Reservation(GROUP.key, ANN.id, NOW + timedelta(minutes=1), images=1))
        await uow.budgets.reserve(Reservation(GROUP.key, ANN.id, NOW - timedelta(minutes=1), images=1))
        await uow.commit()
    with pytest.raises(BudgetExceeded, match="used up"):
        async with service.hold(GROUP.key, ANN.id, IMAGE):
            pass
    later = Budgets(db, PRICES, parse_limits("chat.day.images=1"), clock=lambda: NOW + timedelta(minutes=2))
    async with later.hold(GROUP.key, ANN.id, IMAGE):
        pass


async def test_status_shows_each_limit_with_its_use(db: Database) -> None:
    service = budgets(db, "chat.day.images=4, user.month.cost=1")
    await record_image(db)
    await record_image(db, BOB)
    states = {str(s.key): s for s in await service.status(GROUP.key, ANN.id)}
    assert states["chat.day.images"].used == 2 and states["chat.day.images"].left == 2
    assert states["user.month.cost"].used == Decimal("0.042"), "Ann's own spending"
    assert not states["user.month.cost"].from_chat


async def test_holds_nest_and_each_event_settles_the_hold_it_is_recorded_with(db: Database) -> None:
    """A chat turn (outer) whose tool draws a picture (inner), as chat tools do."""
    service = budgets(db, "chat.day.images=1, chat.day.tokens=10000")
    async with service.hold(GROUP.key, ANN.id, Estimate(tokens=500)):
        async with service.hold(GROUP.key, ANN.id, IMAGE) as inner:
            assert await reservations(db) == Reserved(Decimal("0.042"), 500, 1, 0, 2)
            await record_image(db, hold=inner)
            assert (await reservations(db)).images == 0, "the picture settled the inner hold"
        with pytest.raises(BudgetExceeded, match="image budget"):
            async with service.hold(GROUP.key, ANN.id, IMAGE):
                pass
        assert await reservations(db) == Reserved(Decimal(0), 500, 0, 0, 1), "the outer hold remains"
    assert await reservations(db) == Reserved()


async def record_chat(db: Database, tokens: int, hold: Hold = NO_HOLD) -> None:
    recorder = Recorder(Ledger(PRICES), db)
    async with db.unit_of_work() as uow:
        await uow.chats.ensure(GROUP.key, "tg", GROUP.chat_id, "group", GROUP.title)
        event = recorder.ledger.event(
            GROUP, ANN, "chat", "gpt-4o-mini", request_key=None, input_tokens=tokens
        )
        await recorder.add(uow, replace(event, created_at=NOW), hold)
        await uow.commit()


async def test_a_token_limit_is_never_crossed_by_requests_in_flight(db: Database) -> None:
    service = budgets(db, "chat.day.tokens=5000")
    chat = Estimate(tokens=3000, cost=Decimal("0.001"))  # an upper bound: output capped, input by bytes
    await record_chat(db, 1000)
    async with service.hold(GROUP.key, ANN.id, chat) as first:
        with pytest.raises(BudgetExceeded, match="1,000 of 5,000 tokens used, and requests still running"):
            async with service.hold(GROUP.key, BOB.id, chat):
                pass  # 1,000 used + 3,000 held + 3,000 more would pass 5,000
        await record_chat(db, 300, first)  # what the first one really used
    async with service.hold(GROUP.key, BOB.id, chat) as second:
        await record_chat(db, 2900, second)
    assert (await service.status(GROUP.key, ANN.id))[0].used == 4200, "never above the limit"
    with pytest.raises(BudgetExceeded, match="would be exceeded"):
        async with service.hold(GROUP.key, ANN.id, chat):
            pass


async def test_a_hold_grows_only_within_the_limits_and_is_never_shrunk(db: Database) -> None:
    """A chat turn sizes its hold once its messages are built, and again for each tool round.

    Shrinking would cost a write per turn; the hold ends with the request anyway."""
    service = budgets(db, "chat.day.tokens=5000")
    async with service.hold(GROUP.key, ANN.id, Estimate(tokens=1000)) as first:
        grown = await service.resize(first, Estimate(tokens=4500))
        assert (await reservations(db)).tokens == 4500
        with pytest.raises(BudgetExceeded, match="token budget"):
            await service.resize(grown, Estimate(tokens=5001))
        assert (await reservations(db)).tokens == 4500, "a refused resize changes nothing"
        kept = await service.resize(grown, Estimate(tokens=200))
        assert kept == grown
        assert (await reservations(db)).tokens == 4500
        await record_chat(db, 150, kept)
        assert (await reservations(db)).tokens == 4350
    assert await reservations(db) == Reserved()

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from storage import Database, UsageEvent, UsageTotals

from .conftest import add_chat

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
CHAT = "tg:-100123"
OTHER = "dc:600"


def event(
    user: str = "u1",
    kind: str = "chat",
    model: str = "gpt-4o",
    *,
    chat: str = CHAT,
    at: datetime = T0,
    tokens: tuple[int, int] = (10, 5),
    **extra: object,
) -> UsageEvent:
    return UsageEvent(
        chat_key=chat,
        platform=chat.split(":", maxsplit=1)[0],
        user_id=user,
        user_name=f"name-{user}",
        kind=kind,
        model=model,
        input_tokens=tokens[0],
        output_tokens=tokens[1],
        total_tokens=sum(tokens),
        created_at=at,
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture
async def chats(db: Database) -> Database:
    await add_chat(db, CHAT)
    await add_chat(db, OTHER)
    return db


async def record(db: Database, *events: UsageEvent) -> list[bool]:
    async with db.unit_of_work() as uow:
        added = [await uow.usage.add(e) for e in events]
        await uow.commit()
    return added


async def test_a_request_key_is_recorded_once(chats: Database) -> None:
    first = event(request_key="req-1")
    assert await record(chats, first, event(request_key="req-1"), event(request_key=None)) == [
        True,
        False,
        True,
    ]
    # A retry in a later transaction is skipped too, and the transaction stays usable.
    async with chats.unit_of_work() as uow:
        assert await uow.usage.add(first) is False
        assert await uow.usage.add(event(request_key="req-2")) is True
        await uow.commit()
        report = await uow.usage.report(CHAT)
    assert report.totals.requests == 3


async def test_report_counts_only_its_own_chat(chats: Database) -> None:
    await record(
        chats,
        event("u1", tokens=(100, 50), cost=Decimal("0.015"), currency="USD"),
        event("u2", kind="image_generation", model="gpt-image-1", tokens=(0, 0), images=2, image_tokens=300),
        event("u1", chat=OTHER, tokens=(1000, 1000), cost=Decimal(5)),
    )
    async with chats.unit_of_work() as uow:
        report = await uow.usage.report(CHAT)
        empty = await uow.usage.report("tg:never-used")

    assert report.totals == UsageTotals(
        requests=2,
        input_tokens=100,
        output_tokens=50,
        total_tokens=150,
        image_tokens=300,
        images=2,
        mj_tasks=0,
        cost=Decimal("0.015"),
        unpriced=1,  # the image event has no currency: it was recorded without a price
    )
    assert empty.totals == UsageTotals.zero()
    assert (empty.by_kind, empty.by_model, empty.top_users) == ({}, {}, [])


async def test_report_breaks_down_by_kind_and_model(chats: Database) -> None:
    await record(
        chats,
        event(kind="chat", model="gpt-4o", tokens=(10, 10)),
        event(kind="chat", model="gpt-4o-mini", tokens=(1, 1)),
        event(kind="chat", model="gpt-4o", tokens=(20, 20)),
        event(kind="mj_imagine", model="midjourney", tokens=(0, 0), mj_tasks=1),
    )
    async with chats.unit_of_work() as uow:
        report = await uow.usage.report(CHAT)

    assert list(report.by_kind) == ["chat", "mj_imagine"]
    assert report.by_kind["chat"].requests == 3
    assert report.by_kind["chat"].total_tokens == 62
    assert report.by_kind["mj_imagine"].mj_tasks == 1
    assert list(report.by_model) == ["gpt-4o", "gpt-4o-mini", "midjourney"]
    assert report.by_model["gpt-4o"].input_tokens == 30


async def test_report_since_is_inclusive_and_until_exclusive(chats: Database) -> None:
    await record(
        chats,
        event(at=T0 - timedelta(seconds=1), tokens=(1, 0)),
        event(at=T0, tokens=(10, 0)),
        event(at=T0 + timedelta(hours=1), tokens=(100, 0)),
        event(at=T0 + timedelta(days=1), tokens=(1000, 0)),
    )
    async with chats.unit_of_work() as uow:
        since = await uow.usage.report(CHAT, since=T0)
        window = await uow.usage.report(CHAT, since=T0, until=T0 + timedelta(days=1))
        # Another time zone means the same instant.
        moscow = await uow.usage.report(CHAT, until=T0.astimezone(timezone(timedelta(hours=3))))

    assert since.totals.input_tokens == 1110
    assert window.totals.input_tokens == 110
    assert moscow.totals.input_tokens == 1


async def test_naive_datetimes_are_refused(chats: Database) -> None:
    async with chats.unit_of_work() as uow:
        with pytest.raises(ValueError, match="naive"):
            await uow.usage.report(CHAT, since=datetime(2025, 1, 1))


async def test_top_users_heaviest_first_with_latest_name(chats: Database) -> None:
    await record(
        chats,
        event("small", tokens=(1, 1)),
        event("big", tokens=(500, 500)),
        event("middle", tokens=(50, 50)),
        event("middle", tokens=(50, 50)),
        event("payer", tokens=(1, 0), cost=Decimal("0.5")),
        UsageEvent(CHAT, "tg", "big", "Renamed", "chat", "gpt-4o", input_tokens=1, created_at=T0),
    )
    async with chats.unit_of_work() as uow:
        report = await uow.usage.report(CHAT, top_n=3)
        only_middle = await uow.usage.report(CHAT, user_id="middle")

    assert [u.user_id for u in report.top_users] == ["payer", "big", "middle"]
    assert report.top_users[1].user_name == "Renamed"
    assert report.top_users[2].totals.requests == 2
    assert only_middle.totals.total_tokens == 200
    assert [u.user_id for u in only_middle.top_users] == ["middle"]


async def test_cost_sums_exactly_enough(chats: Database) -> None:
    await record(chats, *(event(cost=Decimal("0.1")) for _ in range(10)))
    async with chats.unit_of_work() as uow:
        report = await uow.usage.report(CHAT)
    assert report.totals.cost == Decimal("1.0")
    assert isinstance(report.totals.cost, Decimal)


async def test_daily_fills_missing_days_with_zeros(chats: Database) -> None:
    now = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
    await record(
        chats,
        event(at=datetime(2025, 3, 1, 0, 0, tzinfo=UTC), tokens=(1, 0)),
        event(at=datetime(2025, 3, 1, 23, 59, tzinfo=UTC), tokens=(2, 0)),
        event(at=datetime(2025, 3, 3, 8, 0, tzinfo=UTC), tokens=(4, 0)),
        event(at=datetime(2025, 2, 28, 23, 0, tzinfo=UTC), tokens=(100, 0)),  # before the window
        event(at=datetime(2025, 3, 2, 12, 0, tzinfo=UTC), chat=OTHER, tokens=(100, 0)),
    )
    async with chats.unit_of_work() as uow:
        days = await uow.usage.daily(CHAT, 3, now=now)

    assert [d for d, _ in days] == [date(2025, 3, 1), date(2025, 3, 2), date(2025, 3, 3)]
    assert [t.input_tokens for _, t in days] == [3, 0, 4]
    assert [t.requests for _, t in days] == [2, 0, 1]
    assert days[1][1] == UsageTotals.zero()


async def test_created_at_defaults_to_now(chats: Database) -> None:
    before = datetime.now(UTC)
    await record(chats, UsageEvent(CHAT, "tg", "u1", "Ann", "chat", "gpt-4o", total_tokens=3))
    async with chats.unit_of_work() as uow:
        report = await uow.usage.report(CHAT, since=before - timedelta(seconds=1))
    assert report.totals.requests == 1

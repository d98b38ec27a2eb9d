"""Ledger queries behind budgets, /admin usage and /usage export."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from storage import Database, UsageEvent

from .conftest import add_chat

T0 = datetime(2025, 3, 1, 12, tzinfo=UTC)


def event(chat: str, user: str = "u1", *, at: datetime = T0, cost: str = "0.1", **kw: object) -> UsageEvent:
    return UsageEvent(
        chat_key=chat,
        platform=chat.split(":", maxsplit=1)[0],
        user_id=user,
        user_name=f"name-{user}",
        kind="chat",
        model="gpt-4o",
        input_tokens=10,
        output_tokens=5,
        total_tokens=15,
        cost=Decimal(cost),
        currency=kw.pop("currency", "USD"),  # type: ignore[arg-type]
        created_at=at,
        **kw,  # type: ignore[arg-type]
    )


async def record(db: Database, *events: UsageEvent) -> None:
    async with db.unit_of_work() as uow:
        for item in events:
            await uow.usage.add(item)
        await uow.commit()


async def test_totals_for_a_chat_a_user_and_a_period(db: Database) -> None:
    await add_chat(db, "tg:-1")
    await record(
        db,
        event("tg:-1", "a"),
        event("tg:-1", "b", images=2),
        event("tg:-1", "a", at=T0 - timedelta(days=1)),
        event("tg:-1", "a", currency=None, cost="0"),
    )
    async with db.unit_of_work() as uow:
        chat = await uow.usage.totals("tg:-1", since=T0)
        ann = await uow.usage.totals("tg:-1", since=T0, user_id="a")
        ever = await uow.usage.totals("tg:-1")
    assert (chat.requests, chat.images, chat.cost, chat.unpriced) == (3, 2, Decimal("0.2"), 1)
    assert (ann.requests, ann.total_tokens) == (2, 30)
    assert ever.requests == 4


async def test_by_chat_totals_every_chat_and_names_the_heaviest(db: Database) -> None:
    for key in ("tg:-1", "tg:-2", "dc:3"):
        await add_chat(db, key)
    await record(
        db,
        event("tg:-1", cost="1"),
        event("tg:-2", cost="3"),
        event("tg:-2", cost="3"),
        event("dc:3", cost="0.5", at=T0 - timedelta(days=40)),
    )
    async with db.unit_of_work() as uow:
        overall, chats = await uow.usage.by_chat(since=T0 - timedelta(days=1), top_n=1)
        _, every = await uow.usage.by_chat()
    assert (overall.requests, overall.cost) == (3, Decimal(7))
    assert [(c.chat_key, c.title, c.totals.cost) for c in chats] == [("tg:-2", "chat -2", Decimal(6))]
    assert [c.chat_key for c in every] == ["tg:-2", "tg:-1", "dc:3"]


async def test_events_are_streamed_oldest_first_for_one_chat(db: Database) -> None:
    await add_chat(db, "tg:-1")
    await add_chat(db, "tg:-2")
    await record(db, *(event("tg:-1", str(n), request_key=f"r{n}") for n in range(5)), event("tg:-2"))
    async with db.unit_of_work() as uow:
        got = [e async for e in uow.usage.events("tg:-1")]
    assert [e.request_key for e in got] == [f"r{n}" for n in range(5)]
    assert got[0].created_at == T0 and got[0].cost == Decimal("0.1") and got[0].currency == "USD"

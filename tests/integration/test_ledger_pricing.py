"""The ledger prices events when it records them; history keeps its prices."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from bot.model import ChatAddress, User
from bot.usage.ledger import Ledger
from bot.usage.pricing import load_prices
from storage import Database

CHAT = ChatAddress("tg", "42")
ANN = User("42", "ann")


async def test_known_models_are_priced_and_unknown_ones_flagged(db: Database, tmp_path: Path) -> None:
    ledger = Ledger(load_prices())
    async with db.unit_of_work() as uow:
        await uow.chats.ensure(CHAT.key, "tg", "42", "private", "ann")
        await ledger.add(uow, ledger.event(CHAT, ANN, "chat", "gpt-4o", request_key="a", input_tokens=1000))
        await ledger.add(uow, ledger.event(CHAT, ANN, "chat", "mystery", request_key="b", input_tokens=1000))
        await uow.commit()
    cheaper = tmp_path / "prices.toml"
    cheaper.write_text('[tokens]\n"gpt-4o" = { input = 1, output = 1 }\n')
    later = Ledger(load_prices(cheaper))
    async with db.unit_of_work() as uow:
        await later.add(uow, later.event(CHAT, ANN, "chat", "gpt-4o", request_key="c", input_tokens=1000))
        await uow.commit()
    async with db.unit_of_work() as uow:
        events = {e.request_key: e async for e in uow.usage.events(CHAT.key)}
        report = await uow.usage.report(CHAT.key)
    assert (events["a"].cost, events["a"].currency) == (Decimal("0.0025"), "USD")
    assert (events["b"].cost, events["b"].currency) == (Decimal(0), None)
    assert events["c"].cost == Decimal("0.001"), "new prices apply to new events only"
    assert report.totals.cost == Decimal("0.0035")
    assert report.totals.unpriced == 1 and report.by_model["mystery"].unpriced == 1

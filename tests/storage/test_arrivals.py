"""The first read of a message: chat, access rules, language choices and budget limits in one statement."""

from __future__ import annotations

from decimal import Decimal

from storage import BudgetLimit, ChatRecord, Database
from storage.arrivals import Arrival
from storage.languages import chat_subject, user_subject

THREAD = "dc:900"
CHANNEL = "dc:800"
ANN = user_subject("dc", "42")


async def test_a_chat_never_seen_reads_as_nothing_stored(db: Database) -> None:
    async with db.unit_of_work() as uow:
        arrival = await uow.arrivals.read(THREAD, CHANNEL, (ANN, chat_subject(THREAD)))
    assert arrival == Arrival(chat=None, rule=None, parent_rule=None, languages={}, own_limits=False)


async def test_everything_stored_about_a_message_comes_back_in_one_read(db: Database) -> None:
    async with db.unit_of_work() as uow:
        await uow.chats.ensure(THREAD, "dc", "900", "group", "plans")
        await uow.chats.set_chat_model(THREAD, "claude-x")
        await uow.chats.set_voice_replies(THREAD, True)
        await uow.chats.new_conversation(THREAD)
        await uow.access.set_rule(THREAD, False, "admin")
        await uow.access.set_rule(CHANNEL, True, "admin")
        await uow.languages.set(ANN, "zh_Hans")
        await uow.languages.set(chat_subject(THREAD), "en")
        await uow.languages.set(user_subject("tg", "42"), "en")  # someone else: not read
        await uow.commit()
    async with db.unit_of_work() as uow:
        arrival = await uow.arrivals.read(THREAD, CHANNEL, (ANN, chat_subject(THREAD)))
        stored = await uow.chats.get(THREAD)
    assert (
        arrival.chat == stored == ChatRecord(THREAD, "dc", "900", "group", "plans", 1, None, "claude-x", True)
    )
    assert (arrival.rule, arrival.parent_rule) == (False, True)
    assert arrival.rule is False and arrival.parent_rule is True, "bools, not SQLite's 0 and 1"
    assert arrival.languages == {ANN: "zh_Hans", chat_subject(THREAD): "en"}


async def test_without_a_parent_only_the_chats_own_rule_is_read(db: Database) -> None:
    async with db.unit_of_work() as uow:
        await uow.access.set_rule(CHANNEL, True, "admin")
        await uow.commit()
    async with db.unit_of_work() as uow:
        arrival = await uow.arrivals.read(CHANNEL, None, (ANN, chat_subject(CHANNEL)))
    assert (arrival.rule, arrival.parent_rule, arrival.chat) == (True, None, None)


async def test_it_says_whether_the_chat_set_budget_limits_of_its_own(db: Database) -> None:
    async with db.unit_of_work() as uow:
        await uow.budgets.set_limit(BudgetLimit(CHANNEL, "chat", "day", "images", Decimal(3), "admin"))
        await uow.commit()
    async with db.unit_of_work() as uow:
        channel = await uow.arrivals.read(CHANNEL, None, (ANN, chat_subject(CHANNEL)))
        thread = await uow.arrivals.read(THREAD, CHANNEL, (ANN, chat_subject(THREAD)))
    assert channel.own_limits is True
    assert thread.own_limits is False, "a parent's limits are not the thread's"

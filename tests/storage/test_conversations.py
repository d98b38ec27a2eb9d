from __future__ import annotations

from storage import Database, Turn, TurnImage

from .conftest import add_chat

CHAT = "tg:-100123"
JPEG = TurnImage("image/jpeg", b"\xff\xd8\xff\xe0 fake jpeg \x00\x01\xff\xd9")


async def add_turns(db: Database, epoch: int, *tokens: int) -> list[int]:
    async with db.unit_of_work() as uow:
        ids = [
            await uow.conversations.add(CHAT, epoch, "user" if i % 2 == 0 else "assistant", f"turn {i}", t)
            for i, t in enumerate(tokens)
        ]
        await uow.commit()
    return ids


async def recent(db: Database, epoch: int, budget: int, max_turns: int = 50) -> list[Turn]:
    async with db.unit_of_work() as uow:
        return await uow.conversations.recent(CHAT, epoch, budget, max_turns)


async def test_recent_keeps_the_newest_turns_that_fit_oldest_first(db: Database) -> None:
    await add_chat(db, CHAT)
    await add_turns(db, 0, 40, 30, 20, 10)

    assert [t.content for t in await recent(db, 0, 1000)] == ["turn 0", "turn 1", "turn 2", "turn 3"]
    assert [t.content for t in await recent(db, 0, 60)] == ["turn 1", "turn 2", "turn 3"]
    assert [t.content for t in await recent(db, 0, 59)] == ["turn 2", "turn 3"]
    assert [t.content for t in await recent(db, 0, 1000, max_turns=2)] == ["turn 2", "turn 3"]
    assert await recent(db, 0, 9) == []  # even the newest turn does not fit
    turns = await recent(db, 0, 10)
    assert [(t.role, t.tokens) for t in turns] == [("assistant", 10)]
    assert turns[0].created_at.tzinfo is not None


async def test_a_new_conversation_starts_from_an_empty_history(db: Database) -> None:
    await add_chat(db, CHAT)
    await add_turns(db, 0, 5, 5)
    async with db.unit_of_work() as uow:
        epoch = await uow.chats.new_conversation(CHAT)
        await uow.commit()

    assert await recent(db, epoch, 1000) == []
    await add_turns(db, epoch, 7)
    assert [t.tokens for t in await recent(db, epoch, 1000)] == [7]
    assert len(await recent(db, 0, 1000)) == 2  # the old epoch is kept, just not recalled


async def test_images_round_trip_with_their_turn(db: Database) -> None:
    await add_chat(db, CHAT)
    png = TurnImage("image/png", bytes(range(256)))
    async with db.unit_of_work() as uow:
        asked = await uow.conversations.add(
            CHAT, 0, "user", "what is this?", 100, user_id="42", images=[JPEG, png]
        )
        await uow.conversations.add(CHAT, 0, "assistant", "a cat", 3)
        await uow.commit()

    question, answer = await recent(db, 0, 1000)
    assert question.id == asked
    assert question.images == (JPEG, png)
    assert question.user_id == "42"
    assert (answer.images, answer.user_id) == ((), None)


async def test_older_than_returns_what_came_before_a_turn(db: Database) -> None:
    await add_chat(db, CHAT)
    ids = await add_turns(db, 0, 1, 2, 3, 4)
    await add_turns(db, 1, 9)
    async with db.unit_of_work() as uow:
        older = await uow.conversations.older_than(CHAT, 0, ids[2])
    assert [t.id for t in older] == ids[:2]


async def test_a_window_says_whether_it_holds_the_whole_conversation(db: Database) -> None:
    await add_chat(db, CHAT)
    await add_turns(db, 0, 40, 30, 20, 10)
    async with db.unit_of_work() as uow:
        everything = await uow.conversations.window(CHAT, 0, 1000)
        cut_by_budget = await uow.conversations.window(CHAT, 0, 60)
        cut_by_count = await uow.conversations.window(CHAT, 0, 1000, max_turns=4)
        fewer = await uow.conversations.window(CHAT, 0, 1000, max_turns=3)
        empty = await uow.conversations.window(CHAT, 1, 1000)
    assert everything.complete and len(everything.turns) == 4
    assert not cut_by_budget.complete and len(cut_by_budget.turns) == 3
    assert cut_by_count.complete, "exactly max_turns turns, and nothing older"
    assert not fewer.complete
    assert empty.complete and empty.turns == []


async def test_a_window_reads_images_only_when_a_kept_turn_has_some(db: Database) -> None:
    await add_chat(db, CHAT)
    async with db.unit_of_work() as uow:
        await uow.conversations.add(CHAT, 0, "user", "look", 5, images=[JPEG])
        await uow.conversations.add(CHAT, 0, "assistant", "nice", 5)
        await uow.commit()
    async with db.unit_of_work() as uow:
        both = await uow.conversations.window(CHAT, 0, 1000)
        newest = await uow.conversations.window(CHAT, 0, 5)
    assert [t.images for t in both.turns] == [(JPEG,), ()]
    assert [t.content for t in newest.turns] == ["nice"] and newest.turns[0].images == ()


async def test_latest_starting_with_finds_the_newest_user_turn_with_that_prefix(db: Database) -> None:
    await add_chat(db, CHAT)
    prefix = "Files: 100%_sure"  # % and _ are LIKE wildcards: matched literally
    async with db.unit_of_work() as uow:
        first = await uow.conversations.add(CHAT, 0, "user", prefix + " one", 5)
        await uow.conversations.add(CHAT, 0, "assistant", prefix + " said by the bot", 5)
        await uow.conversations.add(CHAT, 0, "user", "Files: 100 percent sure", 5)
        second = await uow.conversations.add(CHAT, 0, "user", prefix + " two", 5)
        last = await uow.conversations.add(CHAT, 0, "user", "plain question", 5)
        await uow.commit()
    async with db.unit_of_work() as uow:
        newest = await uow.conversations.latest_starting_with(CHAT, 0, prefix)
        older = await uow.conversations.latest_starting_with(CHAT, 0, prefix, before_id=second)
        other_epoch = await uow.conversations.latest_starting_with(CHAT, 1, prefix)
    assert newest is not None and newest.id == second and newest.id < last
    assert older is not None and older.id == first
    assert other_epoch is None


async def test_voice_replies_are_off_until_turned_on(db: Database) -> None:
    await add_chat(db, CHAT)
    async with db.unit_of_work() as uow:
        assert (await uow.chats.get(CHAT)).voice_replies is False
        await uow.chats.set_voice_replies(CHAT, True)
        await uow.commit()
    async with db.unit_of_work() as uow:
        assert (await uow.chats.get(CHAT)).voice_replies is True


async def test_an_answer_is_found_by_its_key_taken_over_once_and_replaced_in_place(db: Database) -> None:
    from storage.writes import AnswerUpdate, NewTurn, Writes

    await add_chat(db, CHAT)
    async with db.unit_of_work() as uow:
        await uow.bulk.apply(
            Writes(
                turns=(
                    NewTurn(CHAT, 0, "user", "question", 3, user_id="1"),
                    NewTurn(CHAT, 0, "assistant", "answer", 2, answer_key="k1", images=(JPEG,)),
                    NewTurn(CHAT, 0, "user", "later", 2),
                )
            )
        )
        await uow.commit()
    async with db.unit_of_work() as uow:
        found = await uow.conversations.answer(CHAT, 0, "k1")
        assert await uow.conversations.answer(CHAT, 1, "k1") is None, "another epoch: gone"
        assert await uow.conversations.rename_answer("k1", "k2")
        assert not await uow.conversations.rename_answer("k1", "k3"), "the second press finds nothing"
        await uow.commit()
    assert found is not None
    question, answer = found
    assert (question.content, answer.content, answer.answer_key) == ("question", "answer", "k1")
    async with db.unit_of_work() as uow:
        await uow.bulk.apply(Writes(answers=(AnswerUpdate("k2", "better answer", 4, ()),)))
        await uow.commit()
    async with db.unit_of_work() as uow:
        window = await uow.conversations.window(CHAT, 0, 1000)
        before = await uow.conversations.window(CHAT, 0, 1000, before_id=answer.id)
    assert [(t.content, t.images) for t in window.turns] == [
        ("question", ()),
        ("better answer", ()),
        ("later", ()),
    ], "replaced where it was, its pictures with it"
    assert [t.content for t in before.turns] == ["question"]


async def test_a_stop_press_is_handed_over_answered_once_and_withdrawn(db: Database) -> None:
    from storage.answer_stops import StopRequest

    press = StopRequest("k1", CHAT, "42", by_admin=False)
    async with db.unit_of_work() as uow:
        await uow.answer_stops.request(press)
        await uow.answer_stops.request(press)  # a second press while the first waits adds nothing
        await uow.commit()
    async with db.unit_of_work() as uow:
        assert await uow.answer_stops.pending(["k1", "k2"]) == [press]
        await uow.answer_stops.settle("k1", "stopped")
        await uow.commit()
    async with db.unit_of_work() as uow:
        assert await uow.answer_stops.pending(["k1"]) == [], "answered: not decided twice"
        assert await uow.answer_stops.outcome("k1") == "stopped"
        await uow.answer_stops.withdraw("k1")
        await uow.commit()
    async with db.unit_of_work() as uow:
        assert await uow.answer_stops.outcome("k1") is None

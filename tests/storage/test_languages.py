"""/lang choices: stored per person and per chat, replaced, forgotten."""

from __future__ import annotations

from storage import Database
from storage.languages import chat_subject, user_subject

ANN = user_subject("tg", "42")
GROUP = chat_subject("tg:-100123")


async def test_choices_are_stored_replaced_and_forgotten(db: Database) -> None:
    async with db.unit_of_work() as uow:
        assert await uow.languages.get_many([ANN, GROUP]) == {}
        await uow.languages.set(ANN, "zh_Hans")
        await uow.languages.set(GROUP, "en")
        await uow.commit()
    async with db.unit_of_work() as uow:
        assert await uow.languages.get_many([ANN, GROUP]) == {ANN: "zh_Hans", GROUP: "en"}
        await uow.languages.set(ANN, "en")
        await uow.languages.set(GROUP, None)
        await uow.commit()
    async with db.unit_of_work() as uow:
        assert await uow.languages.get_many([ANN, GROUP, user_subject("dc", "42")]) == {ANN: "en"}


def test_subjects_keep_platforms_and_scopes_apart() -> None:
    assert user_subject("tg", "42") != user_subject("dc", "42")
    assert chat_subject("tg:42") != user_subject("tg", "42")

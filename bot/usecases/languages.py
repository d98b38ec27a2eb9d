"""Which language each reader gets, and `/lang` choices (a person's own, a chat's by its admins).

Choices live in the database (`language_choices`), so every replica answers alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.i18n import Catalog, Lang, Tr
from bot.i18n.locale import choose, from_platform
from bot.model import Incoming
from storage import Database
from storage.languages import chat_subject, user_subject


@dataclass(frozen=True)
class LanguageChoices:
    """What is stored for one reader in one chat; None: no choice made."""

    user: Lang | None
    chat: Lang | None


class Languages:
    def __init__(self, db: Database, catalog: Catalog) -> None:
        self._db = db
        self.catalog = catalog

    def platform_tr(self, msg: Incoming) -> Tr:
        """Before the database is read (or when it cannot be): the app's language alone."""
        return Tr.of_app(self.catalog, msg.user.language)

    async def choices(self, msg: Incoming) -> LanguageChoices:
        return _choices(msg, await self._stored(msg))

    async def tr_for(self, msg: Incoming) -> Tr:
        """The reader's language: their `/lang`, the chat's, their app's, else English."""
        return self.tr_from(msg, await self._stored(msg))

    def tr_from(self, msg: Incoming, stored: Mapping[str, str]) -> Tr:
        """`tr_for` with the choices already read (storage.arrivals: subject -> language)."""
        chosen = _choices(msg, stored)
        return Tr(self.catalog, choose(chosen.user, chosen.chat, from_platform(msg.user.language)))

    async def _stored(self, msg: Incoming) -> Mapping[str, str]:
        async with self._db.unit_of_work() as uow:
            return await uow.languages.get_many(message_subjects(msg))

    async def tr_for_user(self, platform: str, user_id: str, chat_key: str) -> Tr:
        """For a reply sent later (a resumed task): stored choices only, the app's language is gone."""
        user_key, chat = user_subject(platform, user_id), chat_subject(chat_key)
        async with self._db.unit_of_work() as uow:
            stored = await uow.languages.get_many((user_key, chat))
        return Tr(self.catalog, choose(_lang(stored.get(user_key)), _lang(stored.get(chat)), None))

    async def set_user(self, msg: Incoming, lang: Lang | None) -> None:
        await self._set(user_subject(msg.address.platform, msg.user.id), lang)

    async def set_chat(self, msg: Incoming, lang: Lang | None) -> None:
        await self._set(chat_subject(msg.address.key), lang)

    async def _set(self, subject: str, lang: Lang | None) -> None:
        async with self._db.unit_of_work() as uow:
            await uow.languages.set(subject, None if lang is None else lang.value)
            await uow.commit()


def message_subjects(msg: Incoming) -> tuple[str, str]:
    """Whose `/lang` choices a message's reply follows: its sender's, then its chat's."""
    return user_subject(msg.address.platform, msg.user.id), chat_subject(msg.address.key)


def _choices(msg: Incoming, stored: Mapping[str, str]) -> LanguageChoices:
    user_key, chat_key = message_subjects(msg)
    return LanguageChoices(_lang(stored.get(user_key)), _lang(stored.get(chat_key)))


def _lang(value: str | None) -> Lang | None:
    try:
        return Lang(value) if value else None
    except ValueError:
        return None

"""What every incoming message needs before anything else, read as one statement.

A message's chat (its settings), the access rules of the chat and of its parent channel,
the `/lang` choices of its sender and its chat, and whether the chat set budget limits of its
own: read one by one, they were five queries in four transactions per message, a third of
the bot's work in a burst of messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from sqlalchemy import BindParameter, ScalarSelect, Select, String, bindparam, exists, literal, null, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.records import ChatRecord
from storage.tables import BudgetLimitRow, ChatAccessRow, ChatRow, LanguageChoiceRow


@dataclass(frozen=True)
class Arrival:
    chat: ChatRecord | None  # None: a chat not seen before
    rule: bool | None  # the chat's own access rule; None: no admin decided
    parent_rule: bool | None  # its parent channel's (Discord threads), if it has a parent
    languages: Mapping[str, str] = field(default_factory=dict)  # subject -> stored choice
    own_limits: bool = True  # the chat has budget limits of its own (False: only the defaults apply)


# The chat's columns in ChatRecord's order: the record is built from them as they come.
_CHAT_COLUMNS = tuple(getattr(ChatRow, f.name) for f in fields(ChatRecord))


class ArrivalRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def read(self, chat_key: str, parent_key: str | None, subjects: tuple[str, str]) -> Arrival:
        """One row whether or not the chat is known: the chat's columns are null when it is not."""
        user_subject, chat_subject = subjects
        # Through the session's connection: a plain row needs none of the ORM's work.
        connection = await self._session.connection()
        result = await connection.execute(
            _READ if parent_key is None else _READ_WITH_PARENT,
            {
                "chat_key": chat_key,
                "parent_key": parent_key,
                "user_subject": user_subject,
                "chat_subject": chat_subject,
            },
        )
        row = result.one()
        n = len(_CHAT_COLUMNS)
        chat = None if row[0] is None else ChatRecord(*row[:n])
        rule, parent_rule, user_language, chat_language, own_limits = row[n:]
        languages = {
            s: lang for s, lang in ((user_subject, user_language), (chat_subject, chat_language)) if lang
        }
        return Arrival(chat, rule, parent_rule, languages, bool(own_limits))


def _rule(key: BindParameter[str]) -> ScalarSelect[bool]:
    return select(ChatAccessRow.allowed).where(ChatAccessRow.chat_key == key).scalar_subquery()


def _language(subject: BindParameter[str]) -> ScalarSelect[str]:
    return select(LanguageChoiceRow.language).where(LanguageChoiceRow.subject == subject).scalar_subquery()


def _read(with_parent: bool) -> Select[Any]:
    """Built once (building it cost more than running it); the values are bound per message."""
    one = select(literal(1).label("one")).subquery()
    chat_key = bindparam("chat_key", type_=String)
    return select(
        *_CHAT_COLUMNS,
        _rule(chat_key),
        _rule(bindparam("parent_key", type_=String)) if with_parent else null(),
        _language(bindparam("user_subject", type_=String)),
        _language(bindparam("chat_subject", type_=String)),
        exists().where(BudgetLimitRow.chat_key == chat_key),
    ).select_from(one.outerjoin(ChatRow, ChatRow.key == chat_key))


_READ = _read(with_parent=False)
_READ_WITH_PARENT = _read(with_parent=True)

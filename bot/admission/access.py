"""Who may use the bot at all.

Rules, in order:
1. The bot's admins (ADMIN_USER_IDS, and whoever uses the terminal console) may always use it.
2. A chat an admin denied with `/admin deny` is refused.
3. With ALLOWED_CHAT_IDS and ALLOWED_USER_IDS both empty (and no `/admin allow`), the bot is
   open to everyone.
4. Otherwise a message is accepted when its chat is listed (ALLOWED_CHAT_IDS, or allowed with
   `/admin allow`: everyone in it may use the bot) or its sender is listed (ALLOWED_USER_IDS:
   that person may use the bot in any chat).

A Discord thread is a chat of its own (memory, ledger, budgets), but its access follows its
parent channel unless the thread has a rule of its own: allowing or denying a channel covers
the threads in it.

A refused chat is told so once (remembered in the database, so restarts do not repeat it),
then ignored, until an admin changes its access.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.admission.permissions import Permissions, listed
from bot.errors import Refused, Silent
from bot.i18n import t
from bot.model import Incoming
from storage import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rules:
    """A chat's access rules as already read with the rest of its message (storage.arrivals)."""

    own: bool | None
    parent: bool | None  # its parent channel's (a Discord thread's); None without a parent

    @property
    def in_force(self) -> bool | None:
        """The chat's own rule, else its parent's; None: no admin decided either."""
        return self.own if self.own is not None else self.parent


class Access:
    def __init__(
        self,
        db: Database,
        permissions: Permissions,
        *,
        allowed_chats: frozenset[str] = frozenset(),
        allowed_users: frozenset[str] = frozenset(),
    ) -> None:
        self._db = db
        self._permissions = permissions
        self._chats = allowed_chats
        self._users = allowed_users

    async def check(self, msg: Incoming, rules: Rules | None = None) -> None:
        """Raise `Refused` (first time, with the notice) or `Silent` unless the sender may use the bot.

        `rules`: the chat's rules if already read; else they are read here.
        """
        if self._permissions.is_bot_admin(msg):
            return
        address = msg.address
        if rules is None:
            rules = await self._rules(address.key, address.parent_key)
        rule = rules.in_force
        if rule is True or (rule is None and self._open_to(msg)):
            return
        async with self._db.unit_of_work() as uow:  # a write of its own: it starts with the write
            first = await uow.access.first_refusal(address.key)
            await uow.commit()
        why = "denied" if rule is False else "not listed"
        log.info("refused %s in %s (%s)", msg.user.id, address.key, why)
        if not first:
            raise Silent
        if rule is False:
            raise Refused(t("🔒 The bot's admins have turned it off in this chat."))
        raise Refused(
            t(
                "🔒 Sorry, this bot is private and not enabled in this chat. "
                "Its admin can enable it with /admin allow {chat}",
                chat=address.parent_key or address.key,
            )
        )

    async def _rules(self, chat_key: str, parent_key: str | None) -> Rules:
        """Read here when the message did not bring them (the parent's only if needed)."""
        async with self._db.unit_of_work() as uow:
            own = await uow.access.rule(chat_key)
            parent = await uow.access.rule(parent_key) if own is None and parent_key is not None else None
        return Rules(own, parent)

    def _open_to(self, msg: Incoming) -> bool:
        if not self._chats and not self._users:
            return True
        address = msg.address
        chat_ids = [address.chat_id] + ([address.parent_id] if address.parent_id else [])
        return any(listed(self._chats, address.platform, chat_id) for chat_id in chat_ids) or listed(
            self._users, address.platform, msg.user.id
        )

    async def set_rule(self, chat_key: str, allowed: bool, set_by: str) -> None:
        """An admin's decision; the chat may be told again if it is refused later."""
        async with self._db.unit_of_work() as uow:
            await uow.access.set_rule(chat_key, allowed, set_by)
            await uow.access.forget_refusal(chat_key)
            await uow.commit()

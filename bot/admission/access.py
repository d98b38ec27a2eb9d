"""Who may use the bot at all.

Rules, in order:
1. The bot's admins (ADMIN_USER_IDS, and whoever uses the terminal console) may always use it.
2. A chat an admin denied with `/admin deny` is refused.
3. With ALLOWED_CHAT_IDS and ALLOWED_USER_IDS both empty (and no `/admin allow`), the bot is
   open to everyone.
4. Otherwise a message is accepted when its chat is listed (ALLOWED_CHAT_IDS, or allowed with
   `/admin allow`: everyone in it may use the bot) or its sender is listed (ALLOWED_USER_IDS:
   that person may use the bot in any chat).

A refused chat is told so once (remembered in the database, so restarts do not repeat it),
then ignored, until an admin changes its access.
"""

from __future__ import annotations

import logging

from bot.admission.permissions import Permissions, listed
from bot.errors import Refused, Silent
from bot.model import Incoming
from storage import Database

log = logging.getLogger(__name__)


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

    async def check(self, msg: Incoming) -> None:
        """Raise `Refused` (first time, with the notice) or `Silent` unless the sender may use the bot."""
        if self._permissions.is_bot_admin(msg):
            return
        address = msg.address
        async with self._db.unit_of_work() as uow:
            rule = await uow.access.rule(address.key)
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
            raise Refused("🔒 The bot's admins have turned it off in this chat.")
        raise Refused(
            "🔒 Sorry, this bot is private and not enabled in this chat. "
            f"Its admin can enable it with /admin allow {address.key}"
        )

    def _open_to(self, msg: Incoming) -> bool:
        if not self._chats and not self._users:
            return True
        address = msg.address
        return listed(self._chats, address.platform, address.chat_id) or (
            address.key in self._chats or listed(self._users, address.platform, msg.user.id)
        )

    async def set_rule(self, chat_key: str, allowed: bool, set_by: str) -> None:
        """An admin's decision; the chat may be told again if it is refused later."""
        async with self._db.unit_of_work() as uow:
            await uow.access.set_rule(chat_key, allowed, set_by)
            await uow.access.forget_refusal(chat_key)
            await uow.commit()

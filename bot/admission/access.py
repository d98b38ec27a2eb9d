"""Who may use the bot, and who may manage it.

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

Ids are written with their platform ("tg:123", chat keys "tg:-100123") or bare ("123"),
which matches that id on any platform.
"""

from __future__ import annotations

import logging
from typing import Protocol, runtime_checkable

from bot.config import Settings
from bot.model import Incoming, Outbox
from storage import Database

log = logging.getLogger(__name__)

LOCAL_PLATFORMS = frozenset({"console"})


class Refused(Exception):
    """Access denied; `notice` is the one-time message, None when the chat was already told."""

    def __init__(self, notice: str | None) -> None:
        super().__init__(notice or "refused (already told)")
        self.notice = notice


@runtime_checkable
class ChatAdmins(Protocol):
    """An outbox that can ask its platform whether someone administers the chat."""

    async def is_chat_admin(self, user_id: str) -> bool: ...


def _listed(entries: frozenset[str], platform: str, id_: str) -> bool:
    return f"{platform}:{id_}" in entries or id_ in entries


class Access:
    def __init__(self, settings: Settings, db: Database) -> None:
        self._db = db
        self._admins = frozenset(settings.admin_user_ids)
        self._chats = frozenset(settings.allowed_chat_ids)
        self._users = frozenset(settings.allowed_user_ids)

    def is_bot_admin(self, msg: Incoming) -> bool:
        # Whoever types in the terminal (the offline demo, `--simulate`) runs the bot.
        if msg.address.platform in LOCAL_PLATFORMS:
            return True
        return _listed(self._admins, msg.address.platform, msg.user.id)

    async def can_manage(self, msg: Incoming, out: Outbox) -> bool:
        """Bot admins everywhere; in a group also its own admins (asked of the platform).

        In a private chat the user manages their own chat. Platforms that know a
        sender's rights with the message (Discord) set `User.is_admin`; others
        (Telegram) are asked only now, through `ChatAdmins`.
        """
        if self.is_bot_admin(msg) or msg.is_private or msg.user.is_admin:
            return True
        if isinstance(out, ChatAdmins):
            try:
                return await out.is_chat_admin(msg.user.id)
            except Exception:
                log.warning("could not check admin rights in %s", msg.address.key, exc_info=True)
        return False

    async def check(self, msg: Incoming) -> None:
        """Raise `Refused` unless the sender may use the bot in this chat."""
        if self.is_bot_admin(msg):
            return
        address = msg.address
        async with self._db.unit_of_work() as uow:
            rule = await uow.access.rule(address.key)
            if rule is True or (rule is None and self._open_to(msg)):
                return
            first = await uow.access.first_refusal(address.key)
            await uow.commit()
        why = "denied" if rule is False else "not listed"
        log.info("refused %s in %s (%s)", msg.user.id, address.key, why)
        if not first:
            raise Refused(None)
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
        return _listed(self._chats, address.platform, address.chat_id) or (
            address.key in self._chats or _listed(self._users, address.platform, msg.user.id)
        )

    async def set_rule(self, chat_key: str, allowed: bool, set_by: str) -> None:
        """An admin's decision; the chat may be told again if it is refused later."""
        async with self._db.unit_of_work() as uow:
            await uow.access.set_rule(chat_key, allowed, set_by)
            await uow.access.forget_refusal(chat_key)
            await uow.commit()

"""Who may change what: the permission model (README "Security").

    bot admin   ADMIN_USER_IDS (and whoever types in the terminal): anything, anywhere
    chat admin  Telegram group administrators, Discord members who may manage the server or
                channel, and each person in their own private chat: this chat's settings
                (/model within ALLOWED_CHAT_MODELS, /system) and limits *below* the operator's
    member      everyone else: uses the bot; changes nothing that costs the operator money

With GROUP_SETTINGS=everyone (small private groups) members may change /model and /system
too; budgets stay with the admins either way.
"""

from __future__ import annotations

import logging
from enum import IntEnum

from bot.config import GroupSettings
from bot.model import ChatAdmins, Incoming, Outbox

log = logging.getLogger(__name__)

LOCAL_PLATFORMS = frozenset({"console"})


class Role(IntEnum):
    MEMBER = 0
    CHAT_ADMIN = 1
    BOT_ADMIN = 2


def listed(entries: frozenset[str], platform: str, id_: str) -> bool:
    """Ids are written with their platform ("tg:123") or bare ("123": any platform)."""
    return f"{platform}:{id_}" in entries or id_ in entries


class Permissions:
    def __init__(
        self, admin_ids: frozenset[str], group_settings: GroupSettings = GroupSettings.ADMINS
    ) -> None:
        self._admins = admin_ids
        self._group_settings = group_settings

    def is_bot_admin(self, msg: Incoming) -> bool:
        # Whoever types in the terminal (the offline demo, `--simulate`) runs the bot.
        if msg.address.platform in LOCAL_PLATFORMS:
            return True
        return listed(self._admins, msg.address.platform, msg.user.id)

    async def role(self, msg: Incoming, out: Outbox) -> Role:
        """Asks the platform only when it matters: in a group, for someone who is no bot admin."""
        if self.is_bot_admin(msg):
            return Role.BOT_ADMIN
        if msg.is_private or msg.user.is_admin:
            return Role.CHAT_ADMIN
        if isinstance(out, ChatAdmins):
            try:
                if await out.is_chat_admin(msg.user.id):
                    return Role.CHAT_ADMIN
            except Exception:
                log.warning("could not check admin rights in %s", msg.address.key, exc_info=True)
        return Role.MEMBER

    async def may_change_settings(self, msg: Incoming, out: Outbox) -> bool:
        """/model and /system for the whole chat."""
        if self._group_settings is GroupSettings.EVERYONE:
            return True
        return await self.role(msg, out) >= Role.CHAT_ADMIN

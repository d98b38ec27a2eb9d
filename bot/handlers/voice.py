"""/voice on|off: whether this chat's answers also come back as speech (its admins', in groups)."""

from __future__ import annotations

import logging

from bot import commands as c
from bot.admission.permissions import Permissions
from bot.errors import Refused
from bot.i18n import t
from bot.usecases.chats import Chats
from bot.usecases.context import Request

log = logging.getLogger(__name__)


async def handle_set_voice(cmd: c.SetVoice, req: Request, chats: Chats, permissions: Permissions) -> None:
    if cmd.enabled is None:
        await req.out.send_text(
            req.tr(
                t("🔊 Voice answers are on in this chat. Send /voice off to stop them.")
                if req.chat.voice
                else t("🔇 Voice answers are off in this chat. Send /voice on to hear my answers too.")
            )
        )
        return
    if not await permissions.may_change_settings(req.msg, req.out):
        raise Refused(t("Only this chat's admins can change its voice answers."))
    await chats.set_voice(req.msg.address.key, cmd.enabled)
    log.info("voice answers in %s turned %s by %s", req.msg.address.key, cmd.enabled, req.msg.user.id)
    await req.out.send_text(
        req.tr(
            t("🔊 Voice answers are on: my answers also come back as voice messages.")
            if cmd.enabled
            else t("🔇 Voice answers are off.")
        )
    )

"""/lang: the language the bot answers each person in (README "Languages").

A person's own choice wins everywhere they talk to the bot on this platform; a chat's
admins may set the chat's default for those who made none. "auto" follows the app.
"""

from __future__ import annotations

import logging

from bot import commands as c
from bot.admission.permissions import Permissions, Role
from bot.errors import Refused
from bot.i18n import Lang, Text, t
from bot.i18n.locale import from_platform
from bot.model import Button
from bot.router import language_payload
from bot.usecases.context import Request
from bot.usecases.languages import Languages

log = logging.getLogger(__name__)

# Each language named in itself: the reader may not read the current one.
NAMES: dict[Lang, str] = {Lang.EN: "English", Lang.ZH: "简体中文"}


async def handle_show(req: Request, languages: Languages) -> None:
    stored = await languages.choices(req.msg)
    current = NAMES[req.tr.lang]
    source: Text
    if stored.user is not None:
        source = t("🌐 I answer you in {language} (your choice).", language=current)
    elif stored.chat is not None:
        source = t("🌐 I answer you in {language} (this chat's default).", language=current)
    elif from_platform(req.msg.user.language) is not None:
        source = t("🌐 I answer you in {language} (your app's language).", language=current)
    else:
        source = t("🌐 I answer you in {language}.", language=current)
    how = t(
        "Choose below, or send /lang en, /lang zh or /lang auto. Chat admins: /lang chat zh sets the chat's default."  # noqa: E501 - one sentence, one literal (translation catalogs)
    )
    buttons = [
        [Button(NAMES[lang], language_payload(lang)) for lang in Lang],
        [Button(req.tr(t("Automatic")), language_payload(None))],
    ]
    await req.out.send_text(f"{req.tr(source)}\n{req.tr(how)}", buttons=buttons)


async def handle_set(
    cmd: c.SetLanguage, req: Request, languages: Languages, permissions: Permissions
) -> None:
    msg = req.msg
    if cmd.for_chat:
        if await permissions.role(msg, req.out) < Role.CHAT_ADMIN:
            raise Refused(t("Only this chat's admins can set its language."))
        await languages.set_chat(msg, cmd.lang)
        log.info("language of %s set to %s by %s", msg.address.key, cmd.lang, msg.user.id)
    else:
        await languages.set_user(msg, cmd.lang)
        log.info("language of %s:%s set to %s", msg.address.platform, msg.user.id, cmd.lang)
    # The confirmation is in the language now in force for this reader.
    tr = await languages.tr_for(msg)
    name = NAMES[tr.lang]
    if cmd.for_chat:
        text = (
            t("🌐 This chat's default language is now {language}.", language=NAMES[cmd.lang])
            if cmd.lang is not None
            else t("🌐 This chat no longer has a default language; each person's app decides.")
        )
    elif cmd.lang is None:
        text = t("🌐 I now follow your app's language ({language}).", language=name)
    else:
        text = t("🌐 I will answer you in {language}.", language=name)
    await req.out.send_text(tr(text))

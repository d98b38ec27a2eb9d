"""/start, /help and one-line hints."""

from __future__ import annotations

from bot import commands as c
from bot.i18n import t
from bot.router import menu
from bot.usecases.context import Request

INTRO = t(
    "Hi! I'm connected to the wenwen AI gateway.\n"
    "• Write to me to chat (I remember the conversation; /new starts over).\n"
    "• Send photos with a few words to edit them, or with a question about them (/ask always "
    "asks); send 2–5 photos together with /blend to merge them.\n"
    "• Ask me to draw something in the conversation and I'll make the picture.\n"
    "• Send a voice message instead of typing; /voice on makes me answer with voice too.\n"
    "• Send a text file, source code or a PDF with a question about it.\n"
    "• /lang chooses the language I answer in; I chat in whatever language you write."
)
COMMANDS = t("Commands:")
GROUP_NOTE = t("In groups I answer when mentioned, when you reply to my message, or on /ask.")
# What only one platform's users need to know, by `ChatAddress.platform`.
PLATFORM_GROUP_NOTES = {
    "tg": t(
        "Admins: with Telegram's privacy mode on I only see commands and replies to me; "
        "photos for editing need a caption that mentions me or a reply to me."
    ),
}


async def handle_help(req: Request) -> None:
    tr = req.tr
    lines = [f"/{spec.name} — {tr(spec.description)}" for spec in menu()]
    text = tr(INTRO) + "\n\n" + tr(COMMANDS) + "\n" + "\n".join(lines)
    if not req.msg.is_private:
        text += "\n\n" + tr(GROUP_NOTE)
        note = PLATFORM_GROUP_NOTES.get(req.msg.address.platform)
        if note is not None:
            text += " " + tr(note)
    await req.out.send_text(text)


async def handle_hint(cmd: c.Hint, req: Request) -> None:
    await req.out.send_text(req.tr(cmd.text))

"""/start, /help and one-line hints."""

from __future__ import annotations

from bot import commands as c
from bot.router import menu
from bot.usecases.context import Request

INTRO = (
    "Hi! I'm connected to the wenwen AI gateway.\n"
    "• Write to me to chat (I remember the conversation; /new starts over).\n"
    "• Send photos with a few words to edit them, or with a question about them (/ask always "
    "asks); send 2–5 photos together with /blend to merge them.\n"
    "• Ask me to draw something in the conversation and I'll make the picture.\n"
)

GROUP_NOTE = "\nIn groups I answer when mentioned, when you reply to my message, or on /ask."
# What only one platform's users need to know, by `ChatAddress.platform`.
PLATFORM_GROUP_NOTES = {
    "tg": (
        " Admins: with Telegram's privacy mode on I only see commands and replies to me; "
        "photos for editing need a caption that mentions me or a reply to me."
    ),
}


async def handle_help(req: Request) -> None:
    lines = [f"/{spec.name} — {spec.description}" for spec in menu()]
    text = INTRO + "\nCommands:\n" + "\n".join(lines)
    if not req.msg.is_private:
        text += "\n" + GROUP_NOTE + PLATFORM_GROUP_NOTES.get(req.msg.address.platform, "")
    await req.out.send_text(text)


async def handle_hint(cmd: c.Hint, req: Request) -> None:
    await req.out.send_text(cmd.text)

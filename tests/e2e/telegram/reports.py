"""Helpers for tests that read the bot's reports in the fake Telegram."""

from __future__ import annotations

from tests.fakes.telegram_api import JSON, Call, FakeTelegram


def text_of(call: Call) -> str:
    """What the user reads: the stored message text (HTML already turned into entities)."""
    return str(call.result["text"]) if call.ok and call.result else ""


def replies_in(tg: FakeTelegram, chat: JSON, needle: str = "") -> list[str]:
    """The bot's delivered texts in a chat that contain `needle`, oldest first."""
    return [
        text_of(call)
        for call in tg.calls_of("sendMessage")
        if call.ok and call.result["chat"]["id"] == chat["id"] and needle in text_of(call)
    ]


async def reply(tg: FakeTelegram, chat: JSON, user: JSON, text: str, needle: str) -> str:
    """Send `text` and wait for the next reply in that chat containing `needle`."""
    before = len(replies_in(tg, chat, needle))
    tg.send_text(chat, user, text)
    await tg.wait_for(
        "sendMessage",
        lambda c: c.ok and c.result["chat"]["id"] == chat["id"] and needle in text_of(c),
        count=before + 1,
    )
    return replies_in(tg, chat, needle)[-1]


async def usage(tg: FakeTelegram, chat: JSON, user: JSON, args: str = "all") -> str:
    return await reply(tg, chat, user, f"/usage {args}".strip(), "📊")

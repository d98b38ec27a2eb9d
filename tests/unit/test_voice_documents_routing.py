"""Routing of voice notes, spoken commands, /voice and files sent with a question (no I/O)."""

from __future__ import annotations

from typing import Any

from bot import commands as c
from bot.i18n import Catalog, Lang, Tr
from bot.model import (
    AudioAttachment,
    ChatAddress,
    ChatKind,
    DocumentAttachment,
    ImageAttachment,
    Incoming,
    User,
)
from bot.router import Limits, route, spoken

ZH = Tr(Catalog.load(), Lang.ZH)
LIMITS = Limits(max_prompt_chars=8000, max_images=10, voice_max_seconds=300, voice_max_bytes=25 * 1024 * 1024)


async def _no_bytes() -> bytes:
    raise AssertionError("the router must not fetch files")


def voice(duration: float | None = 5, size: int | None = 1000) -> AudioAttachment:
    return AudioAttachment(fetch=_no_bytes, size=size, duration=duration)


DOC = DocumentAttachment(fetch=_no_bytes, file_name="notes.md", mime_type="text/markdown")


def private(text: str = "", **kw: Any) -> Incoming:
    return Incoming(ChatAddress("tg", "42"), User("42", "Ann"), text=text, **kw)


def group(text: str = "", **kw: Any) -> Incoming:
    return Incoming(ChatAddress("tg", "-100", ChatKind.GROUP), User("42", "Ann"), text=text, **kw)


def test_voice_note_is_transcribed_where_addressed() -> None:
    note = voice()
    assert route(private(audio=note), LIMITS) == c.Transcribe(note)
    assert route(group(audio=note, reply_to_bot=True), LIMITS) == c.Transcribe(note)
    assert route(group(audio=note), LIMITS) == c.Ignore()


def test_too_long_or_too_large_audio_is_a_hint_naming_the_limit() -> None:
    long = route(private(audio=voice(duration=301)), LIMITS)
    large = route(private(audio=voice(duration=None, size=26 * 1024 * 1024)), LIMITS)
    assert isinstance(long, c.Hint) and "at most 300 seconds" in str(long.text)
    assert isinstance(large, c.Hint) and "26.0 MB" in str(large.text) and "at most 25 MB" in str(large.text)
    assert ZH(long.text) == "这段录音长 301 秒；我最多能转写 300 秒。请发送更短的录音。"


def test_spoken_text_is_routed_like_typed_text() -> None:
    msg = private(audio=voice())
    assert route(spoken(msg, " what is a quasar? "), LIMITS) == c.Chat("what is a quasar?")
    assert route(spoken(msg, "Imagine, a lighthouse at dawn"), LIMITS) == c.Imagine("a lighthouse at dawn")
    assert route(spoken(msg, "imagine"), LIMITS) == c.Chat("imagine"), "a bare word stays a question"
    assert route(spoken(group(audio=voice()), "hello"), LIMITS) == c.Ignore(), "still not addressed"


def test_voice_command() -> None:
    assert route(private("/voice on"), LIMITS) == c.SetVoice(True)
    assert route(private("/voice OFF"), LIMITS) == c.SetVoice(False)
    assert route(private("/voice"), LIMITS) == c.SetVoice(None)
    assert isinstance(route(private("/voice loud"), LIMITS), c.Hint)


def test_files_ride_with_the_question() -> None:
    assert route(private("summarize", documents=(DOC,)), LIMITS) == c.Chat("summarize", documents=(DOC,))
    assert route(private("/ask what is it?", documents=(DOC,)), LIMITS) == c.Chat(
        "what is it?", explicit=True, documents=(DOC,)
    )
    without_question = route(private(documents=(DOC,)), LIMITS)
    assert isinstance(without_question, c.Hint)
    assert "What should I do with the file?" in str(without_question.text)
    assert route(group("summarize", documents=(DOC,)), LIMITS) == c.Ignore()
    photo = ImageAttachment(fetch=_no_bytes)
    assert route(private("compare", images=(photo,), documents=(DOC,)), LIMITS) == c.Chat(
        "compare", (photo,), documents=(DOC,)
    ), "files with photos: a question about both, never an edit"

"""Journaled interactions back as the core's Incoming, with their user's client language
(a restart replays them, and its replies follow that language)."""

from __future__ import annotations

import json

from adapters.discord.journal import incoming_from_entry
from bot import commands as c
from bot.model import ChatKind, Receipt


async def _never(url: str) -> bytes:
    raise AssertionError(f"no download expected: {url}")


def entry_of(user: list[object]) -> str:
    return json.dumps(
        {
            "created_at": "2026-12-02T10:00:00+00:00",
            "address": ["600", "group", None, "Test Guild #general"],
            "user": user,
            "command": "new",
            "options": {},
            "attachments": [],
        }
    )


def test_the_locale_is_kept_in_the_journal() -> None:
    incoming = incoming_from_entry(Receipt("dc", ("1",)), entry_of(["103", "li", False, "zh-CN"]), _never)
    assert incoming.user.language == "zh-CN"


def test_an_entry_written_before_languages_were_kept_still_replays() -> None:
    incoming = incoming_from_entry(Receipt("dc", ("1",)), entry_of(["103", "li", False]), _never)
    assert incoming.user.language is None and incoming.user.name == "li"


async def _no_fetch(url: str) -> bytes:
    raise AssertionError(f"nothing to fetch: {url}")


def entry(address: list[object], **what: object) -> str:
    return json.dumps(
        {"created_at": "2026-12-02T10:00:00+00:00", "address": address, "user": ["7", "Ann", False]} | what
    )


def test_a_submitted_prompt_dialog_comes_back_as_its_answer_in_its_thread() -> None:
    payload = entry(["610", "group", "610", "G #side", "600"], answer="r1", text=" a boat ", message_id="55")
    incoming = incoming_from_entry(Receipt("dc", ("99",)), payload, _no_fetch)
    assert incoming.command == c.MjPromptAnswer("r1", "a boat")
    assert incoming.source == "dc:99" and incoming.message_id == "55"
    address = incoming.address
    assert (address.key, address.kind, address.thread_id, address.parent_id) == (
        "dc:610",
        ChatKind.GROUP,
        "610",
        "600",
    )


def test_an_empty_answer_is_a_hint_and_older_entries_have_no_parent() -> None:
    payload = entry(["600", "group", None, "G #general"], answer="r1", text="  ", message_id=None)
    incoming = incoming_from_entry(Receipt("dc", ("98",)), payload, _no_fetch)
    assert isinstance(incoming.command, c.Hint)
    assert incoming.address.parent_id is None


async def test_an_ask_with_a_file_replays_with_its_document_fetched_again_by_url() -> None:
    fetched: list[str] = []

    async def fetch(url: str) -> bytes:
        fetched.append(url)
        return b"print('hi')\n"

    files = [
        {
            "url": "https://cdn.test/calc.py",
            "filename": "calc.py",
            "content_type": "text/x-python",
            "size": 12,
        },
        {
            "url": "https://cdn.test/a.bin",
            "filename": "a.bin",
            "content_type": "application/octet-stream",
            "size": 3,
        },
    ]
    payload = entry(
        ["600", "group", None, "G #general"], command="ask", options={"prompt": "what?"}, attachments=files
    )
    incoming = incoming_from_entry(Receipt("dc", ("5",)), payload, fetch)
    assert isinstance(incoming.command, c.Chat)
    [document] = incoming.command.documents
    assert (document.file_name, document.mime_type, document.size) == ("calc.py", "text/x-python", 12)
    assert await document.fetch() == b"print('hi')\n" and fetched == ["https://cdn.test/calc.py"]
    assert incoming.documents == incoming.command.documents and incoming.images == ()


def test_a_text_file_replayed_with_a_command_that_takes_images_is_refused() -> None:
    files = [{"url": "https://cdn.test/n.txt", "filename": "n.txt", "content_type": "text/plain", "size": 2}]
    payload = entry(["600", "group", None, "G #general"], command="describe", options={}, attachments=files)
    incoming = incoming_from_entry(Receipt("dc", ("6",)), payload, _no_fetch)
    assert isinstance(incoming.command, c.Hint) and incoming.documents == ()

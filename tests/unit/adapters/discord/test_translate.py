"""Translation of discord.py objects into the neutral vocabulary (no network)."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import discord
import pytest

from adapters.discord.translate import (
    address_of,
    clean_text,
    command_echo,
    file_refs,
    mentions_bot,
    own_role_id,
    split_attachments,
)
from adapters.files import image_mime, sort_attachments
from bot.i18n import Catalog, Lang, Tr
from bot.model import ChatKind

BOT_ID = 9000


@dataclass
class Someone:
    """Just what `clean_text` reads from a mentioned user."""

    id: int
    display_name: str


def attachment(filename: str, content_type: str | None, size: int = 10) -> discord.Attachment:
    data: dict[str, Any] = {
        "id": "1",
        "size": size,
        "filename": filename,
        "url": f"http://cdn.invalid/{filename}",
        "proxy_url": f"http://cdn.invalid/{filename}",
    }
    if content_type is not None:
        data["content_type"] = content_type
    # Attachment keeps a reference to the connection's HTTP client for read(); unused here.
    return discord.Attachment(data=data, state=SimpleNamespace(http=None))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (f"<@{BOT_ID}> hi", True),
        (f"hi <@!{BOT_ID}>", True),
        ("<@123> hi", False),
        (f"<@&{BOT_ID}> a role, not the bot", False),
        ("no mention", False),
    ],
)
def test_mentions_bot(content: str, expected: bool) -> None:
    assert mentions_bot(content, BOT_ID) is expected


def test_clean_text_drops_the_bot_mention_and_names_other_users() -> None:
    text = clean_text(f"<@{BOT_ID}>  ask <@!77> and <@88> about it", BOT_ID, [Someone(77, "Alice")])  # type: ignore[list-item]
    assert text == "ask @Alice and <@88> about it"


def test_clean_text_keeps_code_indentation_and_newlines() -> None:
    assert clean_text(f"<@{BOT_ID}>\n```\n    x = 1\n```", BOT_ID) == "```\n    x = 1\n```"


@pytest.mark.parametrize(
    ("filename", "content_type", "expected"),
    [
        ("a.png", "image/png", "image/png"),
        ("a.bin", "image/webp; charset=binary", "image/webp"),
        ("photo.JPG", None, "image/jpeg"),
        ("doc.pdf", "application/pdf", None),
        ("noext", None, None),
        ("fake.png", "text/plain", None),
    ],
)
def test_image_mime(filename: str, content_type: str | None, expected: str | None) -> None:
    assert image_mime(filename, content_type) == expected


def test_split_attachments_keeps_images_and_documents_and_names_the_rest() -> None:
    images, documents, unsupported = split_attachments(
        file_refs(
            [
                attachment("a.png", "image/png", 1234),
                attachment("r.pdf", "application/pdf"),
                attachment("v.mp3", "audio/mpeg"),
                attachment("z.zip", "application/zip"),
            ]
        ),
        documents=True,
    )
    assert [(i.file_name, i.mime_type, i.size) for i in images] == [("a.png", "image/png", 1234)]
    assert [(d.file_name, d.mime_type) for d in documents] == [("r.pdf", "application/pdf")]
    assert unsupported == "audio, ZIP files", "a slash command takes no recording"


def test_split_attachments_without_files() -> None:
    assert split_attachments([]) == ((), (), None)


def test_address_of_dm_and_guild_channel() -> None:
    dm = address_of(discord.Object(42), None)
    assert (dm.key, dm.kind, dm.thread_id) == ("dc:42", ChatKind.PRIVATE, None)
    group = address_of(discord.Object(600), None, in_guild=True)
    assert (group.key, group.kind) == ("dc:600", ChatKind.GROUP)


def test_command_echo() -> None:
    en, zh = Tr(Catalog.load(), Lang.EN), Tr(Catalog.load(), Lang.ZH)
    assert command_echo("imagine", {"prompt": "a cat"}, 1, en) == "**/imagine** a cat · 1 image"
    assert command_echo("blend", {"dimensions": "square"}, 3, en) == "**/blend** square · 3 images"
    assert command_echo("blend", {"dimensions": "square"}, 3, zh) == "**/blend** square · 3 张图片"
    assert command_echo("usage", {}, 0, en) == "**/usage**"
    assert len(command_echo("ask", {"prompt": "x" * 5000}, 0, en)) <= 1900


def test_mentioning_the_bots_managed_role_counts_as_a_mention() -> None:
    own, other = discord.Object(7), discord.Object(8)

    def message(*roles: discord.Object, guild_role: discord.Object | None = own) -> Any:
        # Only what own_role_id reads of a discord.Message.
        return SimpleNamespace(guild=SimpleNamespace(self_role=guild_role), role_mentions=list(roles))

    assert own_role_id(message(own)) == 7
    assert own_role_id(message(other)) is None
    assert own_role_id(message(own, guild_role=None)) is None
    assert own_role_id(SimpleNamespace(guild=None, role_mentions=[])) is None  # type: ignore[arg-type]


def test_attachments_sorted_into_images_audio_files_and_the_rest() -> None:
    voice = attachment("voice-message.ogg", "audio/ogg", size=5000)
    voice.duration = 4.5
    found = sort_attachments(
        file_refs(
            [
                attachment("a.png", "image/png"),
                voice,
                attachment("notes.md", None),
                attachment("report.pdf", "application/pdf"),
                attachment("song.mp3", "audio/mpeg"),
                attachment("archive.zip", "application/zip"),
            ]
        )
    )
    assert [i.file_name for i in found.images] == ["a.png"]
    assert found.audio is not None
    assert (found.audio.file_name, found.audio.duration, found.audio.size) == ("voice-message.ogg", 4.5, 5000)
    assert [(d.file_name, d.mime_type) for d in found.documents] == [
        ("notes.md", "text/plain"),
        ("report.pdf", "application/pdf"),
    ]
    # One recording per message: a second one is refused with the rest.
    assert found.unsupported == "audio, ZIP files"


def test_a_text_file_is_a_document_only_for_a_command_that_takes_one() -> None:
    notes = attachment("notes.txt", "text/plain")
    images, documents, unsupported = split_attachments(file_refs([notes]), documents=True)
    assert images == () and [d.file_name for d in documents] == ["notes.txt"] and unsupported is None
    assert split_attachments(file_refs([notes])) == ((), (), "TXT files")

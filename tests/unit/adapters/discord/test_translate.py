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
    image_mime,
    mentions_bot,
    own_role_id,
    split_attachments,
)
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


def test_split_attachments_keeps_images_and_names_the_rest() -> None:
    images, unsupported = split_attachments(
        [
            attachment("a.png", "image/png", 1234),
            attachment("r.pdf", "application/pdf"),
            attachment("v.mp3", "audio/mpeg"),
        ]
    )
    assert [(i.file_name, i.mime_type, i.size) for i in images] == [("a.png", "image/png", 1234)]
    assert unsupported == "PDF files, audio"


def test_split_attachments_without_files() -> None:
    assert split_attachments([]) == ((), None)


def test_address_of_dm_and_guild_channel() -> None:
    dm = address_of(discord.Object(42), None)
    assert (dm.key, dm.kind, dm.thread_id) == ("dc:42", ChatKind.PRIVATE, None)
    group = address_of(discord.Object(600), None, in_guild=True)
    assert (group.key, group.kind) == ("dc:600", ChatKind.GROUP)


def test_command_echo() -> None:
    assert command_echo("imagine", {"prompt": "a cat"}, 1) == "**/imagine** a cat · 1 image"
    assert command_echo("blend", {"dimensions": "square"}, 3) == "**/blend** square · 3 images"
    assert command_echo("usage", {}, 0) == "**/usage**"
    assert len(command_echo("ask", {"prompt": "x" * 5000}, 0)) <= 1900


def test_mentioning_the_bots_managed_role_counts_as_a_mention() -> None:
    own, other = discord.Object(7), discord.Object(8)

    def message(*roles: discord.Object, guild_role: discord.Object | None = own) -> Any:
        # Only what own_role_id reads of a discord.Message.
        return SimpleNamespace(guild=SimpleNamespace(self_role=guild_role), role_mentions=list(roles))

    assert own_role_id(message(own)) == 7
    assert own_role_id(message(other)) is None
    assert own_role_id(message(own, guild_role=None)) is None
    assert own_role_id(SimpleNamespace(guild=None, role_mentions=[])) is None  # type: ignore[arg-type]

"""Slash commands and button presses as journal entries, and back after a restart.

Discord does not send an interaction twice, and its token answers for 15 minutes: an
interaction is journaled (bot.lifecycle.inbound) when it arrives, and one a crashed
instance never finished is handled by the next start while its token is still valid. The
entry keeps what the core needs, in neutral form: where, who, and the command's options
(attachments by URL, fetched again from Discord's CDN).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import discord

from bot.model import ChatAddress, ChatKind, ImageAttachment, Incoming, User

from .translate import PLATFORM, image_mime, interaction_address, parsed_command, user_of

FetchUrl = Callable[[str], Awaitable[bytes]]


def command_entry(
    interaction: discord.Interaction,
    name: str,
    options: dict[str, str],
    attachments: Sequence[discord.Attachment],
) -> str:
    files = [
        {"url": a.url, "filename": a.filename, "content_type": a.content_type, "size": a.size}
        for a in attachments
    ]
    return _entry(interaction, {"command": name, "options": options, "attachments": files})


def button_entry(interaction: discord.Interaction, custom_id: str) -> str:
    message = interaction.message
    return _entry(interaction, {"custom_id": custom_id, "message_id": str(message.id) if message else None})


def _entry(interaction: discord.Interaction, what: dict[str, Any]) -> str:
    address = interaction_address(interaction)
    user = user_of(interaction.user)
    return json.dumps(
        {
            "created_at": interaction.created_at.isoformat(),
            "address": [address.chat_id, address.kind.value, address.thread_id, address.title],
            "user": [user.id, user.name, user.is_admin],
            **what,
        }
    )


def age_of(payload: str, now: datetime) -> float:
    return (now - datetime.fromisoformat(json.loads(payload)["created_at"])).total_seconds()


def incoming_from_entry(update_id: str, payload: str, fetch: FetchUrl) -> Incoming:
    """The journaled interaction as the core's Incoming; attachments fetched by URL when needed."""
    entry = json.loads(payload)
    chat_id, kind, thread_id, title = entry["address"]
    user_id, user_name, is_admin = entry["user"]
    address = ChatAddress(PLATFORM, chat_id, ChatKind(kind), thread_id, title)
    user = User(user_id, user_name, is_admin=is_admin)
    source = f"{PLATFORM}:{update_id}"
    if "custom_id" in entry:
        return Incoming(
            address, user, message_id=entry["message_id"], callback=entry["custom_id"], source=source
        )
    images: list[ImageAttachment] = []
    others: list[str] = []
    for file in entry["attachments"]:
        mime = image_mime(file["filename"], file["content_type"])
        if mime is None:
            others.append(file["filename"])
            continue
        url = file["url"]

        async def fetch_one(url: str = url) -> bytes:
            return await fetch(url)

        images.append(ImageAttachment(fetch_one, file["filename"], mime, file["size"]))
    command = parsed_command(
        entry["command"], entry["options"], tuple(images), ", ".join(others) + " files" if others else None
    )
    return Incoming(address, user, images=tuple(images), mentioned=True, command=command, source=source)

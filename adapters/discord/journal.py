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

from bot.model import ChatAddress, ChatKind, DocumentAttachment, ImageAttachment, Incoming, Receipt, User

from .translate import (
    DOCUMENT_COMMANDS,
    PLATFORM,
    document_mime,
    image_mime,
    interaction_address,
    parsed_command,
    prompt_answer,
    user_of,
)

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


def answer_entry(interaction: discord.Interaction, request_id: str, text: str) -> str:
    message = interaction.message
    return _entry(
        interaction,
        {"answer": request_id, "text": text, "message_id": str(message.id) if message else None},
    )


def _entry(interaction: discord.Interaction, what: dict[str, Any]) -> str:
    address = interaction_address(interaction)
    user = user_of(interaction.user, str(interaction.locale))
    return json.dumps(
        {
            "created_at": interaction.created_at.isoformat(),
            "address": [
                address.chat_id,
                address.kind.value,
                address.thread_id,
                address.title,
                address.parent_id,
            ],
            "user": [user.id, user.name, user.is_admin, user.language],
            **what,
        }
    )


def age_of(payload: str, now: datetime) -> float:
    return (now - datetime.fromisoformat(json.loads(payload)["created_at"])).total_seconds()


def incoming_from_entry(receipt: Receipt, payload: str, fetch: FetchUrl) -> Incoming:
    """The journaled interaction as the core's Incoming; attachments fetched by URL when needed."""
    entry = json.loads(payload)
    chat_id, kind, thread_id, title, *parent = entry["address"]  # older entries had no parent
    # Entries journaled before languages were recorded have three fields.
    user_id, user_name, is_admin, *rest = entry["user"]
    address = ChatAddress(PLATFORM, chat_id, ChatKind(kind), thread_id, title, parent[0] if parent else None)
    user = User(user_id, user_name, is_admin=is_admin, language=rest[0] if rest else None)
    if "custom_id" in entry:
        return Incoming(
            address, user, message_id=entry["message_id"], callback=entry["custom_id"], receipt=receipt
        )
    if "answer" in entry:
        command = prompt_answer(entry["answer"], entry["text"])
        return Incoming(address, user, message_id=entry["message_id"], command=command, receipt=receipt)
    images: list[ImageAttachment] = []
    documents: list[DocumentAttachment] = []
    others: list[str] = []
    for file in entry["attachments"]:
        url = file["url"]

        async def fetch_one(url: str = url) -> bytes:
            return await fetch(url)

        mime = image_mime(file["filename"], file["content_type"])
        if mime is not None:
            images.append(ImageAttachment(fetch_one, file["filename"], mime, file["size"]))
        elif entry["command"] in DOCUMENT_COMMANDS and (
            document := document_mime(file["filename"], file["content_type"])
        ):
            documents.append(DocumentAttachment(fetch_one, file["filename"], document, file["size"]))
        else:
            others.append(file["filename"])
    command = parsed_command(
        entry["command"],
        entry["options"],
        tuple(images),
        ", ".join(others) + " files" if others else None,
        tuple(documents),
    )
    return Incoming(
        address,
        user,
        images=tuple(images),
        documents=tuple(documents),
        mentioned=True,
        command=command,
        receipt=receipt,
    )

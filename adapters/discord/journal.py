"""Messages, slash commands and button presses as journal entries, and back after a restart.

Discord does not send an event twice, and an interaction's token answers for 15 minutes:
each is journaled (bot.lifecycle.inbound) when it arrives, and one a crashed or stopped
instance never finished is handled by the next start (an interaction while its token is
still valid). The entry keeps what the core needs, in neutral form: where, who, and what
was said or asked (attachments by URL, fetched again from Discord's CDN).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import discord

from adapters.files import FileRef, sort_attachments
from bot.model import (
    ChatAddress,
    ChatKind,
    Incoming,
    Quoted,
    Receipt,
    User,
)

from .translate import (
    DOCUMENT_COMMANDS,
    PLATFORM,
    file_refs,
    interaction_address,
    parsed_command,
    prompt_answer,
    split_attachments,
    user_of,
)

FetchUrl = Callable[[str], Awaitable[bytes]]


def command_entry(
    interaction: discord.Interaction,
    name: str,
    options: dict[str, str],
    attachments: Sequence[discord.Attachment],
) -> str:
    files = [_file_entry(f) for f in file_refs(attachments)]
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


def message_entry(message: discord.Message, incoming: Incoming) -> str:
    """A message addressed to the bot, as `incoming_from_message` read it (a quoted member's
    pictures are not kept: the words are)."""
    quoted = incoming.quoted
    files = [_file_entry(f) for f in file_refs(message.attachments)]
    what = {
        "message": {
            "id": incoming.message_id,
            "text": incoming.text,
            "mentioned": incoming.mentioned,
            "reply_to_bot": incoming.reply_to_bot,
            "unsupported": incoming.unsupported,
            "quoted": {"author": quoted.author, "text": quoted.text} if quoted else None,
            "files": files,
        }
    }
    return _entry_of(message.created_at, incoming.address, incoming.user, what)


def _entry(interaction: discord.Interaction, what: dict[str, Any]) -> str:
    address = interaction_address(interaction)
    user = user_of(interaction.user, str(interaction.locale))
    return _entry_of(interaction.created_at, address, user, what)


def _entry_of(created_at: datetime, address: ChatAddress, user: User, what: dict[str, Any]) -> str:
    return json.dumps(
        {
            "created_at": created_at.isoformat(),
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
    if "message" in entry:
        return _message(entry["message"], address, user, receipt, fetch)
    name = entry["command"]
    # Sorted as the live command's were (translate.incoming_from_command).
    refs = [_file(file, fetch) for file in entry["attachments"]]
    images, documents, unsupported = split_attachments(refs, documents=name in DOCUMENT_COMMANDS)
    return Incoming(
        address,
        user,
        images=images,
        documents=documents,
        mentioned=True,
        command=parsed_command(name, entry["options"], images, unsupported, documents),
        receipt=receipt,
    )


def _file_entry(file: FileRef) -> dict[str, Any]:
    return {
        "url": file.url,
        "filename": file.filename,
        "content_type": file.content_type,
        "size": file.size,
        "duration": file.duration,
        "voice": file.voice,
    }


def _file(file: dict[str, Any], fetch: FetchUrl) -> FileRef:
    """A journaled attachment (`_file_entry`), fetched again by its URL; entries journaled
    before messages were had no duration or voice flag."""
    return FileRef(
        functools.partial(fetch, file["url"]),
        file["filename"],
        file["content_type"],
        file["size"],
        file["url"],
        file.get("duration"),
        file.get("voice", False),
    )


def _message(
    message: dict[str, Any], address: ChatAddress, user: User, receipt: Receipt, fetch: FetchUrl
) -> Incoming:
    refs = [_file(f, fetch) for f in message["files"]]
    images, audio, documents, _unsupported = sort_attachments(refs)
    quoted = message["quoted"]
    return Incoming(
        address,
        user,
        text=message["text"],
        images=images,
        audio=audio,
        documents=documents,
        message_id=message["id"],
        mentioned=message["mentioned"],
        reply_to_bot=message["reply_to_bot"],
        quoted=Quoted(quoted["author"], quoted["text"]) if quoted else None,
        unsupported=message["unsupported"],
        receipt=receipt,
    )

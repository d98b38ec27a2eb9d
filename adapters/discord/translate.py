"""discord.py objects → the neutral `Incoming` the core understands.

Pure functions over discord.py models: no requests, no state. The platform decides
*whether* a message is handled; this module only says what it means.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

import discord

from adapters.files import FileRef, image_mime, sort_attachments
from bot.commands import Command, Hint, MjPromptAnswer
from bot.i18n import Tr, t, tn
from bot.model import (
    ChatAddress,
    ChatKind,
    DocumentAttachment,
    ImageAttachment,
    Incoming,
    Quoted,
    Receipt,
    User,
)
from bot.router import unsupported_hint

from .commands import command_from

PLATFORM = "dc"

_USER_MENTION = re.compile(r"<@!?(\d+)>")


def address_of(channel: object, guild: discord.Guild | None, *, in_guild: bool | None = None) -> ChatAddress:
    """A Discord channel or thread is one chat; DMs are private chats.

    `in_guild` overrides `guild is not None` when the guild is known by id but not cached.
    """
    channel_id = str(getattr(channel, "id", ""))
    if not (in_guild if in_guild is not None else guild is not None):
        recipient = getattr(channel, "recipient", None)
        title = f"DM with {recipient.name}" if recipient is not None else "DM"
        return ChatAddress(PLATFORM, channel_id, ChatKind.PRIVATE, title=title)
    name = getattr(channel, "name", None) or channel_id
    is_thread = isinstance(channel, discord.Thread)
    thread_id = channel_id if is_thread else None
    # A thread is a chat of its own (memory, ledger); access follows its parent channel.
    parent_id = str(channel.parent_id) if isinstance(channel, discord.Thread) and channel.parent_id else None
    title = f"{guild.name} #{name}" if guild is not None else f"#{name}"
    return ChatAddress(
        PLATFORM, channel_id, ChatKind.GROUP, thread_id=thread_id, title=title, parent_id=parent_id
    )


def user_of(author: discord.User | discord.Member, locale: str | None = None) -> User:
    """`locale`: the interaction's (the app's language); plain messages do not carry one."""
    is_admin = False
    if isinstance(author, discord.Member):
        permissions = author.guild_permissions
        # Manage Server or Manage Channels: the people who run the place (README "Security").
        is_admin = permissions.administrator or permissions.manage_guild or permissions.manage_channels
    return User(str(author.id), author.display_name, is_admin=is_admin, language=locale)


def mentions_bot(content: str, bot_id: int) -> bool:
    return any(int(found) == bot_id for found in _USER_MENTION.findall(content))


def clean_text(content: str, bot_id: int, users: Iterable[discord.abc.User] = ()) -> str:
    """Drop the bot's own mention; show other mentions as @name (the model can't read ids)."""
    names = {user.id: user.display_name for user in users}

    def replace(match: re.Match[str]) -> str:
        user_id = int(match.group(1))
        if user_id == bot_id:
            return ""
        return f"@{names[user_id]}" if user_id in names else match.group(0)

    # The bot's mention goes with one adjoining space; other spacing (code!) is kept.
    own = re.compile(rf"<@!?{bot_id}> ?")
    return _USER_MENTION.sub(replace, own.sub("", content)).strip()


def file_ref(attachment: discord.Attachment) -> FileRef:
    return FileRef(
        attachment.read,
        attachment.filename,
        attachment.content_type,
        attachment.size,
        attachment.url,
        attachment.duration,
        attachment.is_voice_message(),
    )


def file_refs(attachments: Iterable[discord.Attachment]) -> list[FileRef]:
    return [file_ref(a) for a in attachments]


# Slash commands whose file options may carry documents; the others take images only.
DOCUMENT_COMMANDS = frozenset({"ask"})


def split_attachments(
    attachments: Sequence[FileRef], *, documents: bool = False
) -> tuple[tuple[ImageAttachment, ...], tuple[DocumentAttachment, ...], str | None]:
    """A slash command's files: images (and text-like documents if it takes them); anything
    else named for a refusal."""
    images, _audio, texts, unsupported = sort_attachments(attachments, media=False, documents=documents)
    return images, texts, unsupported


def own_role_id(message: discord.Message) -> int | None:
    """The bot's managed role, when the message mentions it (people pick it by mistake)."""
    own = message.guild.self_role if message.guild is not None else None
    return own.id if own is not None and own in message.role_mentions else None


def incoming_from_message(
    message: discord.Message, bot_id: int, *, reply_to_bot: bool, replied: discord.Message | None = None
) -> Incoming:
    """`replied`: the message this one replies to (a server's), part of the question unless it is ours."""
    images, audio, documents, unsupported = sort_attachments(file_refs(message.attachments))
    if unsupported is None and message.stickers:
        unsupported = "stickers"
    content = message.content
    role = own_role_id(message)
    if role is not None:
        content = re.sub(rf"<@&{role}> ?", "", content)
    return Incoming(
        address=address_of(message.channel, message.guild, in_guild=in_guild(message)),
        # A message carries no app language; a community server's own language is the best guess.
        user=user_of(message.author, str(message.guild.preferred_locale) if message.guild else None),
        text=clean_text(content, bot_id, message.mentions),
        images=images,
        audio=audio,
        documents=documents,
        message_id=str(message.id),
        mentioned=mentions_bot(content, bot_id) or role is not None,
        reply_to_bot=reply_to_bot,
        quoted=quoted_of(replied, bot_id) if replied is not None and not reply_to_bot else None,
        unsupported=unsupported,
    )


def in_guild(message: discord.Message) -> bool:
    """Server or DM, even before the server is cached (discord.py then gives a partial channel)."""
    if isinstance(message.channel, discord.DMChannel | discord.GroupChannel):
        return False
    return message.guild is not None or getattr(message.channel, "guild_id", None) is not None


def replied_message(message: discord.Message) -> discord.Message | None:
    """The message this one replies to, when Discord sent it along."""
    reference = message.reference
    if reference is None:
        return None
    resolved = reference.resolved or reference.cached_message
    return resolved if isinstance(resolved, discord.Message) else None


def quoted_of(replied: discord.Message, bot_id: int) -> Quoted | None:
    """Another member's message a question replies to: its words and its images."""
    images = sort_attachments(file_refs(replied.attachments), media=False).images
    text = clean_text(replied.content, bot_id, replied.mentions)
    if not text and not images:
        return None
    return Quoted(author=replied.author.display_name, text=text, images=images)


def interaction_address(interaction: discord.Interaction) -> ChatAddress:
    channel: object = interaction.channel
    if channel is None:
        channel = discord.Object(interaction.channel_id or 0)
    return address_of(channel, interaction.guild, in_guild=interaction.guild_id is not None)


def parsed_command(
    name: str,
    options: Mapping[str, str],
    images: tuple[ImageAttachment, ...],
    unsupported: str | None,
    documents: tuple[DocumentAttachment, ...] = (),
) -> Command:
    """Attachment options are images or documents, or refused like any other file when nothing usable came."""
    if unsupported and not images and not documents:
        return unsupported_hint(unsupported)
    return command_from(name, options, images, documents)


def incoming_from_command(
    interaction: discord.Interaction,
    name: str,
    options: Mapping[str, str],
    attachments: Sequence[discord.Attachment],
    *,
    message_id: str | None,
    receipt: Receipt,
) -> Incoming:
    """A slash command, parsed into the core's typed command."""
    images, documents, unsupported = split_attachments(
        file_refs(attachments), documents=name in DOCUMENT_COMMANDS
    )
    return Incoming(
        address=interaction_address(interaction),
        user=user_of(interaction.user, str(interaction.locale)),
        images=images,
        documents=documents,
        message_id=message_id,
        mentioned=True,
        command=parsed_command(name, options, images, unsupported, documents),
        receipt=receipt,
    )


def incoming_from_button(interaction: discord.Interaction, custom_id: str, *, receipt: Receipt) -> Incoming:
    message = interaction.message
    return Incoming(
        address=interaction_address(interaction),
        user=user_of(interaction.user, str(interaction.locale)),
        message_id=str(message.id) if message is not None else None,
        callback=custom_id,
        receipt=receipt,
    )


def incoming_from_answer(
    interaction: discord.Interaction, request_id: str, text: str, *, receipt: Receipt
) -> Incoming:
    """A submitted prompt dialog: the answer to the bot's question `request_id`."""
    message = interaction.message
    return Incoming(
        address=interaction_address(interaction),
        user=user_of(interaction.user, str(interaction.locale)),
        message_id=str(message.id) if message is not None else None,
        command=prompt_answer(request_id, text),
        receipt=receipt,
    )


def prompt_answer(request_id: str, text: str) -> Command:
    return MjPromptAnswer(request_id, text.strip()) if text.strip() else Hint(t("The prompt was empty."))


def command_echo(
    name: str, options: Mapping[str, str], images: int, tr: Tr, files: Sequence[str] = ()
) -> str:
    """What the user asked, shown publicly under their slash command: `/imagine a cat · 1 image`.

    Files other than images are named: `/ask what does it do? · calc.py`.
    """
    parts = [f"**/{name}**"]
    parts += [value for value in options.values() if value]
    text = " ".join(parts)
    if images:
        text += " · " + tr(tn("{n} image", "{n} images", n=images))
    for file_name in files:
        text += f" · {file_name}"
    return text if len(text) <= 1900 else text[:1899] + "…"


def echo_of(name: str, options: Mapping[str, str], attachments: Sequence[discord.Attachment], tr: Tr) -> str:
    """`command_echo` for a live interaction: its images counted, its other files named."""
    images, files = 0, []
    for attachment in attachments:
        if image_mime(attachment.filename, attachment.content_type) is not None:
            images += 1
        else:
            files.append(attachment.filename)
    return command_echo(name, options, images, tr, files)

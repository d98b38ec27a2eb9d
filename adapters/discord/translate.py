"""discord.py objects → the neutral `Incoming` the core understands.

Pure functions over discord.py models: no requests, no state. The platform decides
*whether* a message is handled; this module only says what it means.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

import discord

from bot.commands import Command
from bot.model import ChatAddress, ChatKind, ImageAttachment, Incoming, User
from bot.router import unsupported_hint

from .commands import command_from

PLATFORM = "dc"

_IMAGE_SUFFIXES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".bmp": "image/bmp",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
}
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
    thread_id = channel_id if isinstance(channel, discord.Thread) else None
    title = f"{guild.name} #{name}" if guild is not None else f"#{name}"
    return ChatAddress(PLATFORM, channel_id, ChatKind.GROUP, thread_id=thread_id, title=title)


def user_of(author: discord.User | discord.Member) -> User:
    is_admin = False
    if isinstance(author, discord.Member):
        permissions = author.guild_permissions
        # Manage Server or Manage Channels: the people who run the place (README "Security").
        is_admin = permissions.administrator or permissions.manage_guild or permissions.manage_channels
    return User(str(author.id), author.display_name, is_admin=is_admin)


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


def image_mime(filename: str, content_type: str | None) -> str | None:
    """The image type of an attachment, from its content type or, failing that, its name."""
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if kind.startswith("image/"):
        return kind
    if kind:
        return None
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return _IMAGE_SUFFIXES.get(suffix)


def image_of(attachment: discord.Attachment, mime: str) -> ImageAttachment:
    return ImageAttachment(
        fetch=attachment.read, file_name=attachment.filename, mime_type=mime, size=attachment.size
    )


def split_attachments(
    attachments: Sequence[discord.Attachment],
) -> tuple[tuple[ImageAttachment, ...], str | None]:
    """Images become `ImageAttachment`s; anything else is named for a polite refusal."""
    images: list[ImageAttachment] = []
    others: list[str] = []
    for attachment in attachments:
        mime = image_mime(attachment.filename, attachment.content_type)
        if mime is not None:
            images.append(image_of(attachment, mime))
        else:
            others.append(_describe_file(attachment))
    return tuple(images), (", ".join(others) if others else None)


def _describe_file(attachment: discord.Attachment) -> str:
    content_type = (attachment.content_type or "").split(";", 1)[0]
    if content_type.startswith("audio/"):
        return "audio"
    if content_type.startswith("video/"):
        return "videos"
    suffix = attachment.filename.rsplit(".", 1)[-1].upper() if "." in attachment.filename else ""
    return f"{suffix} files" if suffix else "that file"


def own_role_id(message: discord.Message) -> int | None:
    """The bot's managed role, when the message mentions it (people pick it by mistake)."""
    own = message.guild.self_role if message.guild is not None else None
    return own.id if own is not None and own in message.role_mentions else None


def incoming_from_message(message: discord.Message, bot_id: int, *, reply_to_bot: bool) -> Incoming:
    images, unsupported = split_attachments(message.attachments)
    if unsupported is None and message.stickers:
        unsupported = "stickers"
    content = message.content
    role = own_role_id(message)
    if role is not None:
        content = re.sub(rf"<@&{role}> ?", "", content)
    return Incoming(
        address=address_of(message.channel, message.guild, in_guild=in_guild(message)),
        user=user_of(message.author),
        text=clean_text(content, bot_id, message.mentions),
        images=images,
        message_id=str(message.id),
        mentioned=mentions_bot(content, bot_id) or role is not None,
        reply_to_bot=reply_to_bot,
        unsupported=unsupported,
    )


def in_guild(message: discord.Message) -> bool:
    """Server or DM, even before the server is cached (discord.py then gives a partial channel)."""
    if isinstance(message.channel, discord.DMChannel | discord.GroupChannel):
        return False
    return message.guild is not None or getattr(message.channel, "guild_id", None) is not None


def replied_author_id(message: discord.Message) -> int | None:
    """Who wrote the message this one replies to, when Discord sent it along."""
    reference = message.reference
    if reference is None:
        return None
    resolved = reference.resolved or reference.cached_message
    if isinstance(resolved, discord.Message):
        return resolved.author.id
    return None


def interaction_address(interaction: discord.Interaction) -> ChatAddress:
    channel: object = interaction.channel
    if channel is None:
        channel = discord.Object(interaction.channel_id or 0)
    return address_of(channel, interaction.guild, in_guild=interaction.guild_id is not None)


def parsed_command(
    name: str, options: Mapping[str, str], images: tuple[ImageAttachment, ...], unsupported: str | None
) -> Command:
    """Attachment options are images, or refused like any other file when nothing usable came."""
    return (
        unsupported_hint(unsupported) if unsupported and not images else command_from(name, options, images)
    )


def incoming_from_command(
    interaction: discord.Interaction,
    name: str,
    options: Mapping[str, str],
    attachments: Sequence[discord.Attachment],
    *,
    message_id: str | None,
) -> Incoming:
    """A slash command, parsed into the core's typed command."""
    images, unsupported = split_attachments(attachments)
    return Incoming(
        address=interaction_address(interaction),
        user=user_of(interaction.user),
        images=images,
        message_id=message_id,
        mentioned=True,
        command=parsed_command(name, options, images, unsupported),
        source=f"{PLATFORM}:{interaction.id}",
    )


def incoming_from_button(interaction: discord.Interaction, custom_id: str) -> Incoming:
    message = interaction.message
    return Incoming(
        address=interaction_address(interaction),
        user=user_of(interaction.user),
        message_id=str(message.id) if message is not None else None,
        callback=custom_id,
        source=f"{PLATFORM}:{interaction.id}",
    )


def command_echo(name: str, options: Mapping[str, str], images: int) -> str:
    """What the user asked, shown publicly under their slash command: `/imagine a cat · 1 image`."""
    parts = [f"**/{name}**"]
    parts += [value for value in options.values() if value]
    text = " ".join(parts)
    if images:
        text += f" · {images} image{'s' if images > 1 else ''}"
    return text if len(text) <= 1900 else text[:1899] + "…"

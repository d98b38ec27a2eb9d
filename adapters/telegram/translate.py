"""aiogram objects → the neutral `Incoming` message."""

from __future__ import annotations

import io
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, Chat, Message, MessageEntity, MessageGenerationStopped
from aiogram.types import User as TgUser

from bot.documents import is_text_like
from bot.errors import AttachmentUnavailable
from bot.i18n import t
from bot.model import (
    AudioAttachment,
    ChatAddress,
    ChatKind,
    DocumentAttachment,
    ImageAttachment,
    Incoming,
    Quoted,
    Receipt,
    User,
)

log = logging.getLogger(__name__)

PLATFORM = "tg"

# Message content we cannot use, named the way the hint to the user reads.
_UNSUPPORTED = {
    "sticker": "stickers",
    "video": "videos",
    "video_note": "video messages",
    "animation": "GIFs",
    "location": "locations",
    "contact": "contacts",
    "poll": "polls",
}


@dataclass(frozen=True)
class BotIdentity:
    id: int
    username: str


def address_of(chat: Chat, thread_id: int | None) -> ChatAddress:
    kind = ChatKind.PRIVATE if chat.type == "private" else ChatKind.GROUP
    title = chat.title or chat.full_name or ""
    return ChatAddress(PLATFORM, str(chat.id), kind, str(thread_id) if thread_id else None, title)


def user_of(user: TgUser | None) -> User:
    if user is None:
        return User("0", "anonymous")
    return User(str(user.id), user.username or user.full_name, language=user.language_code)


def sender_of(message: Message) -> User:
    """Who wrote the message, for budgets, the ledger and admin checks.

    An anonymous admin or a channel posting in a group comes with a placeholder bot in
    `from_user` (shared by every such sender on Telegram) and the real sender in
    `sender_chat`. An anonymous admin is the group itself, and is its admin by definition.
    """
    chat = message.sender_chat
    if chat is None:
        return user_of(message.from_user)
    name = chat.title or chat.full_name or (chat.username or "")
    # The anonymous admin's placeholder user still carries the app's language.
    language = message.from_user.language_code if message.from_user else None
    return User(str(chat.id), name, is_admin=chat.id == message.chat.id, language=language)


def _thread(message: Message) -> int | None:
    # Only forum topics need the thread id back; reply threads in plain groups reject it.
    return message.message_thread_id if message.is_topic_message else None


def _download(bot: Bot, file_id: str) -> ImageAttachment:
    return ImageAttachment(fetch=_fetcher(bot, file_id))


def _fetcher(bot: Bot, file_id: str) -> Callable[[], Awaitable[bytes]]:
    async def fetch() -> bytes:
        try:
            file = await bot.get_file(file_id)
        except TelegramBadRequest as exc:
            if "too big" in exc.message.lower():
                raise AttachmentUnavailable(
                    t(
                        "That file is larger than Telegram lets bots download (20 MB). Please send a smaller one."  # noqa: E501 - one sentence, one literal (translation catalogs)
                    )
                ) from exc
            raise
        if file.file_path is None:
            raise AttachmentUnavailable(t("Telegram did not hand over that file. Please send it again."))
        buffer = io.BytesIO()
        await bot.download_file(file.file_path, buffer)
        return buffer.getvalue()

    return fetch


def audio_of(bot: Bot, message: Message) -> AudioAttachment | None:
    """A voice note, or an audio file (sent as music or as a document), with its length if told."""
    if message.voice is not None:
        voice = message.voice
        return AudioAttachment(
            _fetcher(bot, voice.file_id),
            "voice.ogg",
            voice.mime_type or "audio/ogg",
            voice.file_size,
            float(voice.duration),
        )
    if message.audio is not None:
        audio = message.audio
        return AudioAttachment(
            _fetcher(bot, audio.file_id),
            audio.file_name or "audio.mp3",
            audio.mime_type or "audio/mpeg",
            audio.file_size,
            float(audio.duration),
        )
    document = message.document
    if document is not None and (document.mime_type or "").startswith("audio/"):
        return AudioAttachment(
            _fetcher(bot, document.file_id),
            document.file_name or "audio",
            document.mime_type or "audio/mpeg",
            document.file_size,
        )
    return None


def documents_of(bot: Bot, message: Message) -> tuple[DocumentAttachment, ...]:
    document = message.document
    if document is None or not is_text_like(document.file_name or "", document.mime_type):
        return ()
    return (
        DocumentAttachment(
            _fetcher(bot, document.file_id),
            document.file_name or "document.txt",
            document.mime_type or "text/plain",
            document.file_size,
        ),
    )


def images_of(bot: Bot, message: Message) -> tuple[ImageAttachment, ...]:
    if message.photo:
        largest = message.photo[-1]
        attachment = _download(bot, largest.file_id)
        return (
            ImageAttachment(
                attachment.fetch, f"{largest.file_unique_id}.jpg", "image/jpeg", largest.file_size
            ),
        )
    document = message.document
    if document and (document.mime_type or "").startswith("image/"):
        attachment = _download(bot, document.file_id)
        return (
            ImageAttachment(
                attachment.fetch,
                document.file_name or "image",
                document.mime_type or "image/jpeg",
                document.file_size,
            ),
        )
    return ()


def unsupported_of(message: Message) -> str | None:
    for attribute, name in _UNSUPPORTED.items():
        if getattr(message, attribute, None):
            return name
    if message.document:
        return f"{message.document.mime_type or 'these'} files"
    return None


def _strip_mentions(text: str, entities: list[MessageEntity] | None, me: BotIdentity) -> tuple[str, bool]:
    """Remove mentions of the bot; tell whether there was one.

    Only the whitespace around a removed mention is tidied: the rest may be code whose
    indentation matters.
    """
    encoded = text.encode("utf-16-le")  # entity offsets count UTF-16 units
    pieces: list[str] = []
    position = 0
    for entity in sorted(entities or (), key=lambda e: e.offset):
        start, end = entity.offset * 2, (entity.offset + entity.length) * 2
        piece = encoded[start:end].decode("utf-16-le")
        is_me = (entity.type == "mention" and piece[1:].lower() == me.username.lower()) or (
            entity.type == "text_mention" and entity.user is not None and entity.user.id == me.id
        )
        if is_me and start >= position:
            pieces.append(encoded[position:start].decode("utf-16-le"))
            position = end
    if not pieces:
        return text, False
    pieces.append(encoded[position:].decode("utf-16-le"))
    joined = pieces[0]
    for piece in pieces[1:]:
        left, right = joined.rstrip(" \t"), piece.lstrip(" \t")
        gap = " " if left and right and not left.endswith("\n") and not right.startswith("\n") else ""
        joined = left + gap + right
    return joined.strip(), True


def command_target(text: str) -> str | None:
    """The @bot in "/cmd@bot …", if any."""
    head = text.split(maxsplit=1)[0] if text.startswith("/") else ""
    return head.partition("@")[2] or None


def incoming_from_messages(
    bot: Bot, me: BotIdentity, messages: list[Message], *, receipt: Receipt | None = None
) -> Incoming | None:
    """One message, or an album (several messages with one media_group_id), as one Incoming."""
    first = messages[0]
    captioned = next((m for m in messages if m.caption or m.text), first)
    raw_text = captioned.text or captioned.caption or ""
    entities = captioned.entities or captioned.caption_entities
    target = command_target(raw_text)
    if target is not None and target.lower() != me.username.lower():
        return None  # a command for another bot in the same group
    text, mentioned = _strip_mentions(raw_text, entities, me)
    images = tuple(image for m in messages for image in images_of(bot, m))
    documents = tuple(doc for m in messages for doc in documents_of(bot, m))
    audio = audio_of(bot, first) if len(messages) == 1 else None
    reply = first.reply_to_message
    reply_to_bot = bool(reply and reply.from_user and reply.from_user.id == me.id)
    return Incoming(
        address=address_of(first.chat, _thread(first)),
        user=sender_of(first),
        text=text,
        images=images,
        audio=audio,
        documents=documents,
        message_id=str(first.message_id),
        mentioned=mentioned or target is not None,
        reply_to_bot=reply_to_bot,
        quoted=None if reply_to_bot else quoted_of(bot, first),
        unsupported=None if images or documents or audio else unsupported_of(first),
        receipt=receipt,
        reply_to_message_id=str(reply.message_id) if reply is not None else None,
        # `/describe` sent as a reply to a photo (someone's, or one the bot drew) describes it.
        replied_images=images_of(bot, reply) if reply is not None else (),
    )


def quoted_of(bot: Bot, message: Message) -> Quoted | None:
    """The other member's message this one replies to in a group: its words (or the part the
    user quoted) and its photos."""
    reply = message.reply_to_message
    if reply is None or message.chat.type == "private" or reply.forum_topic_created is not None:
        return None  # in a forum topic, a plain message "replies" to the topic's first message
    text = message.quote.text if message.quote is not None else (reply.text or reply.caption or "")
    images = images_of(bot, reply)
    if not text.strip() and not images:
        return None
    return Quoted(author=sender_of(reply).name, text=text, images=images)


def incoming_from_callback(query: CallbackQuery, *, receipt: Receipt | None = None) -> Incoming | None:
    message = query.message
    if not isinstance(message, Message) or query.data is None:
        return None
    return Incoming(
        address=address_of(message.chat, _thread(message)),
        user=user_of(query.from_user),
        message_id=str(message.message_id),
        callback=query.data,
        receipt=receipt,
    )


def incoming_from_draft_stop(
    stopped: MessageGenerationStopped, payload: str, *, receipt: Receipt | None = None
) -> Incoming:
    """Telegram's stop button on a draft, as a press of the button it stands for.

    Drafts exist only in private chats, whose id is the person's: they pressed it.
    """
    chat = stopped.chat
    return Incoming(
        address=address_of(chat, stopped.message_thread_id),
        user=User(str(chat.id), chat.username or chat.full_name),
        callback=payload,
        receipt=receipt,
    )

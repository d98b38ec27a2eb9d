"""A fake Telegram Bot API server for end-to-end tests.

The real ``aiogram.Bot`` + ``Dispatcher`` (long polling) talk to it over HTTP exactly as they
talk to api.telegram.org, so handlers, filters, serialisation and error mapping are exercised
unmodified. Point a bot at it with ``AiohttpSession(api=fake.api_server)`` or ``fake.make_bot()``.

What it models, because bots get these wrong in production:

* long polling with ``offset`` confirmation, ``limit``, ``timeout``, persistent
  ``allowed_updates`` and the 409 conflicts: a newer getUpdates terminates the one still open,
  getUpdates is refused while a webhook is set (every 409 is counted in ``fake.conflicts``);
* webhooks: setWebhook / deleteWebhook / getWebhookInfo, updates POSTed one at a time in
  order with the secret-token header, retried with backoff until a 2xx, a method in the 2xx
  answer executed, and ``redeliver_fraction`` to send confirmed updates again (duplicates);
* the HTML parse mode (the one the bot uses) ported from tdlib, with Telegram's error texts
  ("can't parse entities: ..."), UTF-16 entity offsets and whitespace trimming;
* length limits, "message is not modified", unknown messages, callback_data size,
  undecodable / oversized photos, getFile's 20 MB cloud limit;
* per-chat message ids and a message store, so replies, edits and button presses work.

Everything the bot calls is recorded as a :class:`Call` (``fake.calls``); uploaded file
bytes are kept in ``Call.files`` keyed by parameter (``"photo"``, ``"document"``,
``"media.0"``...). ``getUpdates`` is counted but recorded only when it fails or when asked for.
Webhook POSTs are recorded as :class:`WebhookDelivery` (``fake.webhook_deliveries``).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import io
import itertools
import json
import logging
import mimetypes
import random
import re
import socket
import string
import time
import urllib.parse
import warnings
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web
from PIL import Image

if TYPE_CHECKING:
    from aiogram import Bot, Dispatcher
    from aiogram.client.default import DefaultBotProperties
    from aiogram.client.telegram import TelegramAPIServer

logger = logging.getLogger(__name__)

JSON = dict[str, Any]

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_LENGTH = 200
MAX_PHOTO_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024  # getFile limit of the cloud Bot API
MAX_ALBUM_SIZE = 10

ERR_TEXT_EMPTY = "Bad Request: message text is empty"
ERR_TEXT_TOO_LONG = "Bad Request: message is too long"
ERR_EDIT_TEXT_TOO_LONG = "Bad Request: MESSAGE_TOO_LONG"
ERR_CAPTION_TOO_LONG = "Bad Request: message caption is too long"
ERR_EDIT_CAPTION_TOO_LONG = "Bad Request: MEDIA_CAPTION_TOO_LONG"
ERR_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
ERR_EDIT_NOT_FOUND = "Bad Request: message to edit not found"
ERR_DELETE_NOT_FOUND = "Bad Request: message to delete not found"
ERR_REPLY_NOT_FOUND = "Bad Request: message to be replied not found"
ERR_CANT_EDIT = "Bad Request: message can't be edited"
ERR_NO_TEXT_TO_EDIT = "Bad Request: there is no text in the message to edit"
ERR_NO_CAPTION_TO_EDIT = "Bad Request: there is no caption in the message to edit"
ERR_BUTTON_DATA_INVALID = "Bad Request: BUTTON_DATA_INVALID"
ERR_TEXT_BUTTONS = (
    "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
)
ERR_IMAGE_PROCESS_FAILED = "Bad Request: IMAGE_PROCESS_FAILED"
ERR_PHOTO_DIMENSIONS = "Bad Request: PHOTO_INVALID_DIMENSIONS"
ERR_PHOTO_TOO_BIG = "Bad Request: PHOTO_SAVE_FILE_INVALID"
ERR_FILE_TOO_BIG = "Bad Request: file is too big"
ERR_INVALID_FILE_ID = "Bad Request: invalid file_id"
ERR_WRONG_FILE = "Bad Request: wrong file identifier/HTTP URL specified"
ERR_CHAT_NOT_FOUND = "Bad Request: chat not found"
ERR_QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
ERR_DRAFT_PEER_INVALID = "Bad Request: TEXTDRAFT_PEER_INVALID"
ERR_BLOCKED = "Forbidden: bot was blocked by the user"
ERR_CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
)
ERR_WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
ERR_TERMINATED_BY_SET_WEBHOOK = "Conflict: terminated by setWebhook request"
ERR_WEBHOOK_HTTPS = "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
ERR_WEBHOOK_URL = "Bad Request: invalid webhook URL specified"
ERR_SECRET_TOO_LONG = "Bad Request: secret token is too long"
ERR_SECRET_CHARS = "Bad Request: secret token contains unallowed characters"

SECRET_TOKEN_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_SECRET_TOKEN_LENGTH = 256
DEFAULT_MAX_CONNECTIONS = 40
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]*")

# Update types Telegram withholds unless explicitly listed in allowed_updates.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
# Form fields whose value is a JSON-serialised object (aiogram dumps these into the form).
_JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "reply_parameters",
        "entities",
        "caption_entities",
        "allowed_updates",
        "media",
        "commands",
        "scope",
        "link_preview_options",
        "results",
        "reaction",
    }
)
# Form fields that are strings even when they look like numbers or booleans.
_STRING_FIELDS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "file_id",
        "url",
        "action",
        "language_code",
        "business_connection_id",
        "message_effect_id",
        "inline_message_id",
        "photo",
        "document",
        "sticker",
        "thumbnail",
        "video",
        "audio",
        "animation",
        "voice",
        "emoji",
        "title",
        "description",
        "name",
        "secret_token",
        "ip_address",
    }
)
_FILE_FIELDS = ("photo", "document", "sticker", "thumbnail", "video", "audio", "animation", "voice")


class TelegramError(Exception):
    """An API error the fake answers with (``{"ok": false, ...}``)."""

    def __init__(self, code: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def body(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def _bad_request(description: str) -> TelegramError:
    return TelegramError(400, description)


@dataclass
class Call:
    """One API request the bot made, as the fake saw it."""

    method: str
    params: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    file_names: dict[str, str] = field(default_factory=dict)
    result: Any = None
    error: str | None = None
    error_code: int | None = None
    # Made in the body of a 2xx webhook answer rather than as a request of its own.
    webhook_reply: bool = False
    at: float = field(default_factory=time.monotonic)

    @property
    def ok(self) -> bool:
        return self.error is None

    def summary(self, width: int = 300) -> str:
        params = json.dumps(self.params, ensure_ascii=False, default=str)
        if len(params) > width:
            params = params[:width] + "…"
        files = {k: f"{len(v)} bytes" for k, v in self.files.items()}
        status = "ok" if self.ok else f"ERROR {self.error_code} {self.error!r}"
        via = " (webhook reply)" if self.webhook_reply else ""
        return f"{self.method}{via} [{status}] {params}" + (f" files={files}" if files else "")


@dataclass(frozen=True)
class WebhookDelivery:
    """One POST of an update to the webhook, as the fake made it (retries and duplicates too)."""

    update_id: int
    url: str
    status: int | None  # the receiver's HTTP status; None when no answer came
    error: str | None  # what getWebhookInfo would report: non-2xx, refused, timed out
    redelivery: bool  # a duplicate of an update already confirmed (``redeliver_fraction``)
    at: float = field(default_factory=time.monotonic)

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class _Failure:
    code: int
    description: str
    retry_after: int | None
    times: int


@dataclass(frozen=True)
class _Webhook:
    url: str
    secret_token: str | None
    max_connections: int


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    data: bytes
    size: int
    path: str
    kind: str  # "photo" | "document" | "sticker"


@dataclass
class _Upload:
    data: bytes
    filename: str | None
    content_type: str | None


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _strip_none(value: Any) -> Any:
    """Drop nulls so markups compare equal however the client serialised them."""
    if isinstance(value, dict):
        return {k: _strip_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_none(v) for v in value]
    return value


# --------------------------------------------------------------------------------------------
# Parse modes, ported from tdlib (td/telegram/MessageEntity.cpp) so the error texts and byte
# offsets match what api.telegram.org answers. They work on UTF-8 bytes, like the original.
# --------------------------------------------------------------------------------------------

_TD_SPACE = frozenset(b" \t\r\n\v\0")
_HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
# tdlib's sort priority per entity type: entities sort by (offset, -length, priority).
_ENTITY_PRIORITY = {
    "mention": 50,
    "hashtag": 50,
    "bot_command": 50,
    "url": 50,
    "email": 50,
    "bold": 90,
    "italic": 91,
    "code": 20,
    "pre": 11,
    "text_link": 49,
    "text_mention": 49,
    "cashtag": 50,
    "phone_number": 50,
    "underline": 92,
    "strikethrough": 93,
    "blockquote": 0,
    "expandable_blockquote": 0,
    "spoiler": 94,
    "custom_emoji": 99,
}
_TG_USER_LINK = re.compile(r"tg://user\?id=(\d+)", re.IGNORECASE)


class _EntityParseError(Exception):
    pass


def _u16_units(byte: int) -> int:
    """UTF-16 units contributed by a UTF-8 byte (counted on the first byte of a sequence)."""
    if byte & 0xC0 == 0x80:
        return 0
    return 2 if byte >= 0xF0 else 1


def _sort_entities(entities: list[JSON]) -> list[JSON]:
    return sorted(
        entities,
        key=lambda e: (e["offset"], -e["length"], _ENTITY_PRIORITY.get(e["type"], 50)),
    )


def _link_entity(url: str, offset: int, length: int) -> JSON | None:
    """A text_link / text_mention for ``url``, or None when Telegram would drop it."""
    url = url.strip()
    if user := _TG_USER_LINK.fullmatch(url):
        user_obj = {"id": int(user.group(1)), "is_bot": False, "first_name": ""}
        return {"type": "text_mention", "offset": offset, "length": length, "user": user_obj}
    if not url or any(ch.isspace() for ch in url):
        return None
    if "://" not in url and not url.lower().startswith(("tg:", "ton:", "mailto:")):
        url = "http://" + url
    return {"type": "text_link", "offset": offset, "length": length, "url": url}


def _finish(out: bytearray, entities: list[JSON]) -> tuple[str, list[JSON]]:
    try:
        text = bytes(out).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _EntityParseError(
            "Text contains invalid Unicode characters after decoding HTML entities, "
            "check for unmatched surrogate code units"
        ) from exc
    return text, _sort_entities(entities)


def _decode_html_entity(src: bytes, pos: int) -> tuple[int, int]:
    """(code point, position after the entity), or (0, pos) if ``&`` starts no entity."""

    def at(k: int) -> int:
        return src[k] if k < len(src) else 0

    end = pos + 1
    code = 0
    if at(pos + 1) == ord("#"):
        end += 1
        if at(pos + 2) == ord("x"):
            end += 1
            while at(end) and chr(at(end)) in string.hexdigits:
                code = code * 16 + int(chr(at(end)), 16)
                end += 1
        else:
            while ord("0") <= at(end) <= ord("9"):
                code = code * 10 + at(end) - ord("0")
                end += 1
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return 0, pos
    else:
        while at(end) and chr(at(end)) in string.ascii_letters:
            end += 1
        code = {b"lt": 0x3C, b"gt": 0x3E, b"amp": 0x26, b"quot": 0x22}.get(src[pos + 1 : end], 0)
        if not code:
            return 0, pos
    if at(end) == ord(";"):
        end += 1
    return code, end


def _parse_html(text: str) -> tuple[str, list[JSON]]:
    src = text.encode("utf-8")
    n = len(src)

    def at(k: int) -> int:
        return src[k] if k < n else 0

    def space(k: int) -> bool:
        return at(k) in _TD_SPACE

    out = bytearray()
    entities: list[JSON] = []
    stack: list[tuple[str, str, int, int]] = []  # tag, argument, utf16 offset, out position
    u16 = 0
    i = 0
    while i < n:
        c = src[i]
        if c == ord("&"):
            code, after = _decode_html_entity(src, i)
            if code:
                u16 += 2 if code > 0xFFFF else 1
                out += chr(code).encode("utf-8", "surrogatepass")
                i = after
                continue
        if c != ord("<"):
            u16 += _u16_units(c)
            out.append(c)
            i += 1
            continue

        begin = i
        i += 1
        if at(i) != ord("/"):
            while not space(i) and at(i) != ord(">"):
                i += 1
            if i >= n:
                raise _EntityParseError(f"Unclosed start tag at byte offset {begin}")
            tag = src[begin + 1 : i].decode("utf-8", "replace").lower()
            if tag not in _HTML_TAGS:
                raise _EntityParseError(f'Unsupported start tag "{tag}" at byte offset {begin}')
            argument = ""
            while at(i) != ord(">"):
                while i < n and space(i):
                    i += 1
                if at(i) == ord(">"):
                    break
                attr_begin = i
                while not space(i) and at(i) not in (ord("="), ord(">")):
                    i += 1
                attr = src[attr_begin:i]
                if not attr:
                    raise _EntityParseError(f'Empty attribute name in the tag "{tag}" at byte offset {begin}')
                while i < n and space(i):
                    i += 1
                if tag == "blockquote" and attr == b"expandable" and at(i) != ord("="):
                    argument = "expandable"
                    continue
                if at(i) != ord("="):
                    raise _EntityParseError(
                        "Expected equal sign in declaration of an attribute of the tag "
                        f'"{tag}" at byte offset {begin}'
                    )
                i += 1
                while i < n and space(i):
                    i += 1
                if i >= n:
                    raise _EntityParseError(f'Unclosed start tag "{tag}" at byte offset {begin}')
                if at(i) not in (ord("'"), ord('"')):
                    token_begin = i
                    while at(i) and ((chr(at(i)).isalnum() and at(i) < 0x80) or at(i) in b".-"):
                        i += 1
                    value = src[token_begin:i].decode("ascii").lower()
                    if not space(i) and at(i) != ord(">"):
                        raise _EntityParseError(f"Unexpected end of name token at byte offset {token_begin}")
                else:
                    quote = at(i)
                    i += 1
                    raw = bytearray()
                    while i < n and at(i) != quote:
                        if at(i) == ord("&"):
                            code, after = _decode_html_entity(src, i)
                            if code:
                                raw += chr(code).encode("utf-8", "surrogatepass")
                                i = after
                                continue
                        raw.append(at(i))
                        i += 1
                    if at(i) == quote:
                        i += 1
                    value = bytes(raw).decode("utf-8", "replace")
                if i >= n:
                    raise _EntityParseError(f"Unclosed start tag at byte offset {begin}")
                if tag == "a" and attr == b"href":
                    argument = value
                elif tag == "code" and attr == b"class" and value.startswith("language-"):
                    argument = value[len("language-") :]
                elif tag == "span" and attr == b"class" and value.startswith("tg-"):
                    argument = value[len("tg-") :]
                elif tag == "tg-emoji" and attr == b"emoji-id":
                    argument = value
            if tag == "span" and argument != "spoiler":
                raise _EntityParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {begin}')
            stack.append((tag, argument, u16, len(out)))
            i += 1  # past '>'
            continue

        # an end tag
        if not stack:
            raise _EntityParseError(f"Unexpected end tag at byte offset {begin}")
        while not space(i) and at(i) != ord(">"):
            i += 1
        end_tag = src[begin + 2 : i].decode("utf-8", "replace").lower()
        while i < n and space(i):
            i += 1
        if at(i) != ord(">"):
            raise _EntityParseError(f"Unclosed end tag at byte offset {begin}")
        tag, argument, offset, out_pos = stack[-1]
        if end_tag and end_tag != tag:
            raise _EntityParseError(
                f'Unmatched end tag at byte offset {begin}, expected "</{tag}>", found "</{end_tag}>"'
            )
        if u16 > offset:
            length = u16 - offset
            simple = {
                "b": "bold",
                "strong": "bold",
                "i": "italic",
                "em": "italic",
                "s": "strikethrough",
                "strike": "strikethrough",
                "del": "strikethrough",
                "u": "underline",
                "ins": "underline",
                "tg-spoiler": "spoiler",
                "span": "spoiler",
            }
            last = entities[-1] if entities else None
            same_span = last is not None and (last["offset"], last["length"]) == (offset, length)
            if tag in simple:
                entities.append({"type": simple[tag], "offset": offset, "length": length})
            elif tag == "blockquote":
                kind = "expandable_blockquote" if argument else "blockquote"
                entities.append({"type": kind, "offset": offset, "length": length})
            elif tag == "tg-emoji":
                if not argument.isdigit() or int(argument) == 0:
                    raise _EntityParseError("Invalid custom emoji identifier specified")
                entities.append(
                    {
                        "type": "custom_emoji",
                        "offset": offset,
                        "length": length,
                        "custom_emoji_id": argument,
                    }
                )
            elif tag == "a":
                url = argument or bytes(out[out_pos:]).decode("utf-8", "replace")
                if link := _link_entity(url, offset, length):
                    entities.append(link)
            elif tag == "pre":
                if last is not None and same_span and last["type"] == "code" and last.get("_lang"):
                    last["type"] = "pre"
                    last["language"] = last.pop("_lang")
                else:
                    entities.append({"type": "pre", "offset": offset, "length": length})
            elif last is not None and same_span and last["type"] == "pre" and argument:
                last["language"] = argument  # <pre><code class="language-x"> in that order
            else:  # code
                code_entity: JSON = {"type": "code", "offset": offset, "length": length}
                if argument:
                    code_entity["_lang"] = argument
                entities.append(code_entity)
        stack.pop()
        i += 1
    if stack:
        raise _EntityParseError(f"Can't find end tag corresponding to start tag {stack[-1][0]}")
    for entity in entities:
        entity.pop("_lang", None)
    return _finish(out, entities)


def _trim(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    """Telegram strips surrounding whitespace; entities are clipped to what is left."""
    stripped = text.strip(" \t\r\n\v\f")
    if stripped == text:
        return text, entities
    lead = _utf16_len(text[: len(text) - len(text.lstrip(" \t\r\n\v\f"))])
    total = _utf16_len(stripped)
    kept: list[JSON] = []
    for entity in entities:
        start = max(0, entity["offset"] - lead)
        end = min(total, entity["offset"] + entity["length"] - lead)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept


def format_text(
    text: str, parse_mode: str | None, entities: list[JSON] | None = None
) -> tuple[str, list[JSON]]:
    """Text and entities as Telegram would store them; raises TelegramError like the API."""
    if entities:
        parsed_text, parsed = text, [dict(e) for e in entities]
    elif parse_mode:
        if parse_mode.lower() != "html":
            # Telegram also has MarkdownV2 and Markdown; the bot sends HTML only, so that is all
            # this fake parses.
            raise _bad_request(f"Bad Request: unsupported parse_mode {parse_mode!r} (the fake knows HTML)")
        try:
            parsed_text, parsed = _parse_html(text)
        except _EntityParseError as exc:
            raise _bad_request(f"Bad Request: can't parse entities: {exc}") from None
    else:
        parsed_text, parsed = text, []
    return _trim(parsed_text, parsed)


# Auto-detected entities in what users send (the regexes tdlib implements by hand).
_BOT_COMMAND = re.compile(r"(?<![\w/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>])")
_MENTION = re.compile(r"(?<!\w)@[A-Za-z0-9_]{4,32}(?!\w)")


def detect_entities(text: str) -> list[JSON]:
    """bot_command and mention entities Telegram attaches to a user's text or caption."""
    found: list[JSON] = []
    for kind, pattern in (("bot_command", _BOT_COMMAND), ("mention", _MENTION)):
        for match in pattern.finditer(text):
            offset = _utf16_len(text[: match.start()])
            found.append({"type": kind, "offset": offset, "length": _utf16_len(match.group())})
    return _sort_entities(found)


# --------------------------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------------------------

_THUMB_SIDES = (90, 320, 800)  # Telegram's "s", "m" and "x" photo sizes


def _open_image(data: bytes) -> Image.Image | None:
    """The fully decoded image, or None when Telegram's image pipeline would reject it."""
    with warnings.catch_warnings():
        # A decompression-bomb warning must not turn into a test error: it is just "invalid".
        warnings.simplefilter("ignore")
        try:
            image = Image.open(io.BytesIO(data))
            image.load()
        except Exception:  # any decoder failure means IMAGE_PROCESS_FAILED
            return None
    return image


def _image_ext(image: Image.Image | None) -> str:
    fmt = (image.format or "").lower() if image is not None else ""
    return {"jpeg": ".jpg", "png": ".png", "webp": ".webp", "gif": ".gif"}.get(fmt, ".jpg")


def _thumbnail(image: Image.Image, side: int) -> tuple[bytes, int, int]:
    with warnings.catch_warnings():
        # e.g. "palette images with transparency..." must not fail a filterwarnings=error run
        warnings.simplefilter("ignore")
        thumb = image.convert("RGB")
        thumb.thumbnail((side, side))
        buf = io.BytesIO()
        thumb.save(buf, format="JPEG", quality=80)
    return buf.getvalue(), thumb.width, thumb.height


def _sticker_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", (512, 512), (255, 200, 0, 255)).save(buf, format="WEBP")
    return buf.getvalue()


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------

_Handler = Callable[[dict[str, Any], dict[str, bytes], dict[str, str]], Coroutine[Any, Any, Any]]


class FakeTelegram:
    """An in-process Telegram Bot API server (see the module docstring).

    Updates wait in one queue whichever way they leave it: ``getUpdates`` confirms them with
    ``offset``; while a webhook is set, a worker task POSTs them and a 2xx confirms them.
    Public knobs and records besides ``calls``:

    * ``conflicts``: 409 answers that reached a client (see ``_handle_method``);
    * ``webhook_deliveries``: every webhook POST attempt (:class:`WebhookDelivery`);
    * ``redeliver_fraction`` / ``rng``: after a 2xx, POST the same update again with this
      probability, so a test can prove the bot drops duplicates;
    * ``webhook_retry_min`` / ``webhook_retry_max`` / ``webhook_timeout``: retry backoff
      (doubling) and per-POST timeout. Failed deliveries are retried forever, in order.
    """

    def __init__(
        self,
        token: str = "123456:TEST",
        bot_username: str = "wenwen_test_bot",
        *,
        bot_first_name: str = "Wenwen Test",
        privacy_mode: bool = False,
        record_get_updates: bool = False,
        redeliver_fraction: float = 0.0,
        seed: int = 0,
    ) -> None:
        self.token = token
        self.bot_username = bot_username
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_user: JSON = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        # With privacy mode on, group messages not addressed to the bot are never delivered.
        self.privacy_mode = privacy_mode
        self.record_get_updates = record_get_updates

        self.calls: list[Call] = []
        self.get_updates_count = 0
        # Every 409 answered to a client still listening: overlapping long polls, getUpdates
        # while a webhook is set, injected ones. A poll whose client hung up is not counted.
        self.conflicts = 0
        self.callback_answers: dict[str, JSON] = {}
        # (chat id, draft id) → last text of drafts shown with Telegram's stop button (can_stop).
        self.stoppable_drafts: dict[tuple[int, int], str] = {}
        self.blocked_chats: set[int] = set()

        self._chats: dict[int, JSON] = {}
        self._users: dict[int, JSON] = {}
        self._messages: dict[int, dict[int, JSON]] = {}
        self._deleted: dict[int, set[int]] = {}
        self._next_message_id: dict[int, int] = {}
        self._files: dict[str, _StoredFile] = {}
        self._files_by_path: dict[str, _StoredFile] = {}
        self._photo_sets: dict[str, list[JSON]] = {}
        self._callback_queries: dict[str, JSON] = {}
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._failures: dict[str, list[_Failure]] = {}
        self._delays: dict[str, list[float]] = {}  # method → seconds, one per call to slow down
        self._to_park: dict[str, int] = {}  # method → how many of its next calls never land
        self.parked: list[str] = []  # the methods of calls held so far (park_next)
        # getChatMember: chat id → {user id: "creator" | "administrator"}; others are members.
        self._admins: dict[int, dict[int, str]] = {}

        self._updates: list[JSON] = []
        self._allowed_updates: frozenset[str] | None = None  # None: Telegram's default set
        self._update_ids = itertools.count(1)
        self._ids = itertools.count(1)
        self._poll_generation = 0
        self._updates_event = asyncio.Event()
        self._calls_event = asyncio.Event()
        self._stopping = False
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None
        self._sticker_data: bytes | None = None

        # Webhook mode. Every POST attempt is recorded; after a 2xx the update is sent once more
        # with probability ``redeliver_fraction`` (drawn from ``rng``; reseed it at will).
        self.webhook_deliveries: list[WebhookDelivery] = []
        self.redeliver_fraction = redeliver_fraction
        self.rng = random.Random(seed)
        self.webhook_retry_min = 0.2  # seconds before the first retry, doubling up to the max
        self.webhook_retry_max = 2.0
        self.webhook_timeout = 10.0  # per POST; a timeout counts as a failed delivery
        self._webhook: _Webhook | None = None
        self._webhook_error: tuple[int, str] | None = None  # (unix time, message) of the last failure
        self._webhook_in_flight = False
        self._redeliver_id: int | None = None  # confirmed once, due to be POSTed again
        self._webhook_event = asyncio.Event()
        self._webhook_task: asyncio.Task[None] | None = None
        self._webhook_session: aiohttp.ClientSession | None = None

        self._handlers: dict[str, _Handler] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "close": self._true,
            "logOut": self._true,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "editMessageCaption": self._edit_message_caption,
            "deleteMessage": self._delete_message,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "sendVoice": self._send_voice,
            "sendAudio": self._send_audio,
            "sendMediaGroup": self._send_media_group,
            "sendChatAction": self._send_chat_action,
            "sendMessageDraft": self._send_message_draft,
            "answerCallbackQuery": self._answer_callback_query,
            "getFile": self._get_file,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
        }
        self._method_names = {name.lower(): name for name in self._handlers}

    # ---- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> str:
        """Serve on a random free localhost port; returns the base URL."""
        app = web.Application(client_max_size=MAX_UPLOAD_BYTES + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        site = web.SockSite(self._runner, sock)
        await site.start()
        self._stopping = False
        self._base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        logger.debug("fake Telegram listening on %s", self._base_url)
        return self._base_url

    async def stop(self) -> None:
        # Release parked long polls first, otherwise cleanup waits out their timeout.
        self._stopping = True
        self._webhook_changed()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None
        if self._webhook_session is not None:
            await self._webhook_session.close()
            self._webhook_session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("FakeTelegram is not started")
        return self._base_url

    @property
    def api_server(self) -> TelegramAPIServer:
        from aiogram.client.telegram import TelegramAPIServer

        return TelegramAPIServer.from_base(self.base_url)

    def make_bot(self, default: DefaultBotProperties | None = None) -> Bot:
        """An aiogram Bot pointed at this server (close it: ``await bot.session.close()``)."""
        from aiogram import Bot
        from aiogram.client.session.aiohttp import AiohttpSession

        return Bot(self.token, session=AiohttpSession(api=self.api_server), default=default)

    # ---- scripted users and chats ----------------------------------------------------------

    def user(
        self,
        id: int = 1001,
        first_name: str = "Ann",
        username: str | None = "ann",
        *,
        last_name: str | None = None,
        language_code: str | None = None,
        is_premium: bool | None = None,
    ) -> JSON:
        user: JSON = {"id": id, "is_bot": False, "first_name": first_name}
        for key, value in (
            ("last_name", last_name),
            ("username", username),
            ("language_code", language_code),
            ("is_premium", is_premium),
        ):
            if value is not None:
                user[key] = value
        self._users[id] = user
        return dict(user)

    def private_chat(self, user: JSON) -> JSON:
        chat: JSON = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        for key in ("last_name", "username"):
            if key in user:
                chat[key] = user[key]
        self._users.setdefault(user["id"], dict(user))
        return self._register_chat(chat)

    def group_chat(
        self,
        id: int = -100123,
        title: str = "Team",
        is_forum: bool = False,
        *,
        type: str | None = None,
        username: str | None = None,
    ) -> JSON:
        kind = type or ("supergroup" if str(id).startswith("-100") or is_forum else "group")
        chat: JSON = {"id": id, "type": kind, "title": title}
        if is_forum:
            chat["is_forum"] = True
        if username:
            chat["username"] = username
        return self._register_chat(chat)

    def set_admins(self, chat: JSON, owner: JSON | None = None, admins: Iterable[JSON] = ()) -> None:
        """Who getChatMember reports as the group's creator and administrators."""
        roles = {user["id"]: "administrator" for user in admins}
        if owner is not None:
            roles[owner["id"]] = "creator"
        self._admins[chat["id"]] = roles

    def block_bot(self, chat_id: int) -> None:
        """The user blocks the bot: sends to this chat now fail with 403."""
        self.blocked_chats.add(chat_id)

    # ---- scripted incoming updates ---------------------------------------------------------

    def send_text(
        self,
        chat: JSON,
        user: JSON,
        text: str,
        *,
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
        entities: list[JSON] | None = None,
    ) -> JSON:
        content: JSON = {"text": text}
        found = detect_entities(text) if entities is None else entities
        if found:
            content["entities"] = found
        msg = self._user_message(chat, user, content, reply_to_message_id, message_thread_id)
        return self._queue("message", msg)

    def edit_text(self, chat: JSON, user: JSON, message_id: int, text: str) -> JSON:
        """The user edits one of their messages (an ``edited_message`` update)."""
        msg = self._require_message(chat["id"], message_id)
        if msg.get("from", {}).get("id") != user["id"]:
            raise ValueError(f"message {message_id} was not sent by user {user['id']}")
        msg["text"] = text
        msg.pop("entities", None)
        if found := detect_entities(text):
            msg["entities"] = found
        msg["edit_date"] = int(time.time())
        return self._queue("edited_message", copy.deepcopy(msg))

    def send_photo(
        self,
        chat: JSON,
        user: JSON,
        image_bytes: bytes,
        *,
        caption: str | None = None,
        media_group_id: str | None = None,
        as_document: bool = False,
        mime_type: str = "image/jpeg",
        file_size: int | None = None,
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
    ) -> JSON:
        """A photo from the user; ``file_size`` overrides the advertised size (e.g. > 20 MB)."""
        content: JSON = {}
        if as_document:
            ext = mimetypes.guess_extension(mime_type) or ".bin"
            stored = self._store_file("document", image_bytes, ext, size=file_size)
            content["document"] = {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_name": f"image{ext}",
                "mime_type": mime_type,
                "file_size": stored.size,
            }
        else:
            content["photo"] = self._register_photo(image_bytes, size=file_size)
        self._add_caption(content, caption)
        if media_group_id is not None:
            content["media_group_id"] = media_group_id
        msg = self._user_message(chat, user, content, reply_to_message_id, message_thread_id)
        return self._queue("message", msg)

    def send_album(
        self,
        chat: JSON,
        user: JSON,
        images: Iterable[bytes],
        caption: str | None = None,
        *,
        message_thread_id: int | None = None,
    ) -> list[JSON]:
        """Several photo messages sharing one media_group_id; the caption rides on the first."""
        group_id = str(10_000_000_000 + next(self._ids))
        return [
            self.send_photo(
                chat,
                user,
                data,
                caption=caption if index == 0 else None,
                media_group_id=group_id,
                message_thread_id=message_thread_id,
            )
            for index, data in enumerate(images)
        ]

    def send_sticker(self, chat: JSON, user: JSON, emoji: str = "👍") -> JSON:
        if self._sticker_data is None:
            self._sticker_data = _sticker_bytes()
        stored = self._store_file("sticker", self._sticker_data, ".webp")
        sticker = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "file_size": stored.size,
        }
        return self._queue("message", self._user_message(chat, user, {"sticker": sticker}))

    def send_document(
        self,
        chat: JSON,
        user: JSON,
        data: bytes,
        *,
        mime_type: str = "application/pdf",
        file_name: str = "x.pdf",
        caption: str | None = None,
        file_size: int | None = None,
    ) -> JSON:
        ext = "." + file_name.rsplit(".", 1)[-1] if "." in file_name else ""
        stored = self._store_file("document", data, ext, size=file_size)
        content: JSON = {
            "document": {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_name": file_name,
                "mime_type": mime_type,
                "file_size": stored.size,
            }
        }
        self._add_caption(content, caption)
        return self._queue("message", self._user_message(chat, user, content))

    def send_voice(
        self,
        chat: JSON,
        user: JSON,
        data: bytes,
        *,
        duration: int,
        caption: str | None = None,
        file_size: int | None = None,
        reply_to_message_id: int | None = None,
        as_audio: bool = False,
    ) -> JSON:
        """A voice note (or, with ``as_audio``, a music file) the user recorded or sent."""
        kind = "audio" if as_audio else "voice"
        stored = self._store_file(kind, data, ".mp3" if as_audio else ".oga", size=file_size)
        media: JSON = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "duration": duration,
            "mime_type": "audio/mpeg" if as_audio else "audio/ogg",
            "file_size": stored.size,
        }
        if as_audio:
            media["file_name"] = "song.mp3"
        content: JSON = {kind: media}
        self._add_caption(content, caption)
        return self._queue("message", self._user_message(chat, user, content, reply_to_message_id))

    def press_button(
        self, chat: JSON, user: JSON, message_id: int, data: str, *, force: bool = False
    ) -> JSON:
        """A callback_query for a button on a stored message.

        Raises if no button on that message carries ``data`` (a test bug, usually); pass
        ``force=True`` to simulate a stale button the bot has since removed.
        """
        msg = self._require_message(chat["id"], message_id)
        buttons = [
            button.get("callback_data")
            for row in msg.get("reply_markup", {}).get("inline_keyboard", [])
            for button in row
        ]
        if not force and data not in buttons:
            raise ValueError(f"message {message_id} has no button with data {data!r}: {buttons}")
        query_id = str(5_000_000_000 + next(self._ids))
        query: JSON = {
            "id": query_id,
            "from": dict(user),
            "message": copy.deepcopy(msg),
            "chat_instance": str(abs(chat["id"]) * 7 + 13),
            "data": data,
        }
        self._callback_queries[query_id] = query
        return self._queue("callback_query", query)

    def stop_draft(self, chat: JSON, draft_id: int) -> JSON:
        """The user presses Telegram's stop button on a draft shown with ``can_stop``."""
        if (chat["id"], draft_id) not in self.stoppable_drafts:
            raise ValueError(f"draft {draft_id} in chat {chat['id']} was never shown with a stop button")
        return self._queue("stopped_message_generation", {"chat": dict(chat), "draft_id": draft_id})

    # ---- inspection ------------------------------------------------------------------------

    def calls_of(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def dump_calls(self) -> str:
        if not self.calls:
            return "  (no calls recorded)"
        return "\n".join(f"  #{n} {call.summary()}" for n, call in enumerate(self.calls))

    async def wait_for(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109 - a deadline for the whole wait, by design
        count: int = 1,
    ) -> Call:
        """Wait until ``count`` calls of ``method`` match; return the latest matching one.

        Failed calls (Call.ok is False) match too, pass ``predicate=lambda c: c.ok`` to skip
        them. Raises AssertionError listing every recorded call on timeout.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            matches = [
                call
                for call in self.calls
                if call.method == method and (predicate is None or predicate(call))
            ]
            if len(matches) >= count:
                return matches[-1]
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {count} matching {method} call(s), "
                    f"got {len(matches)}; recorded calls:\n{self.dump_calls()}"
                )
            event = self._calls_event
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    @property
    def pending_updates(self) -> int:
        """Queued updates not confirmed yet (getUpdates ``offset``, or a 2xx to the webhook)."""
        return len(self._updates)

    async def wait_updates_consumed(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until the poller has confirmed every queued update.

        Confirmation happens when aiogram asks for the next batch, so a handler may still be
        running; pair with wait_for(...) or a short sleep for negative assertions.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._updates:
            if loop.time() >= deadline:
                raise AssertionError(
                    f"{len(self._updates)} update(s) still unconfirmed after {timeout}s; "
                    f"recorded calls:\n{self.dump_calls()}"
                )
            await asyncio.sleep(0.02)

    @property
    def webhook_url(self) -> str | None:
        """The URL setWebhook set, or None in polling mode."""
        return self._webhook.url if self._webhook is not None else None

    async def wait_webhook_idle(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until no update is queued and no webhook POST is in flight.

        Idle means the receiver answered 2xx to everything (duplicates included); handlers it
        runs in the background may still be working. Raises AssertionError on timeout, e.g.
        when updates are queued but no webhook is set.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._webhook_in_flight or self._pending_count():
            if loop.time() >= deadline:
                recent = "\n".join(f"  {d}" for d in self.webhook_deliveries[-10:]) or "  (none)"
                raise AssertionError(
                    f"webhook not idle after {timeout}s: {self._pending_count()} update(s) queued, "
                    f"in flight: {self._webhook_in_flight}, webhook: {self.webhook_url}; "
                    f"last deliveries:\n{recent}"
                )
            await asyncio.sleep(0.02)

    def messages_in(self, chat_id: int, *, include_deleted: bool = False) -> list[JSON]:
        """The chat's history (user and bot messages, edits applied), oldest first."""
        deleted = self._deleted.get(chat_id, set())
        return [
            copy.deepcopy(msg)
            for mid, msg in sorted(self._messages.get(chat_id, {}).items())
            if include_deleted or mid not in deleted
        ]

    def get_message(self, chat_id: int, message_id: int) -> JSON | None:
        msg = self._find_message(chat_id, message_id)
        return copy.deepcopy(msg) if msg is not None else None

    def commands_for(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        """What setMyCommands stored for a scope (default scope when None)."""
        return copy.deepcopy(self._commands.get(self._scope_key(scope, language_code), []))

    def file_bytes(self, file_id: str) -> bytes:
        return self._files[file_id].data

    # ---- fault injection -------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        error_code: int = 400,
        description: str | None = None,
        times: int = 1,
        retry_after: int | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail with this error.

        The default description follows the code: 429 → "Too Many Requests: retry after N".
        """
        if description is None:
            description = {
                429: f"Too Many Requests: retry after {retry_after or 1}",
                403: ERR_BLOCKED,
                500: "Internal Server Error",
                502: "Bad Gateway",
            }.get(error_code, "Bad Request: injected failure")
        if error_code == 429 and retry_after is None:
            retry_after = 1
        failure = _Failure(error_code, description, retry_after, times)
        self._failures.setdefault(self._method_names.get(method.lower(), method), []).append(failure)

    def slow_next(self, method: str, seconds: float, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` ``seconds`` late.

        The call takes effect (and is recorded) at once; only the bot learns of it late, as
        when Telegram or the network is slow.
        """
        name = self._method_names.get(method.lower(), method)
        self._delays.setdefault(name, []).extend([seconds] * times)

    def park_next(self, method: str, times: int = 1) -> None:
        """Hold the next ``times`` calls of ``method`` for ever, without effect or record.

        What a bot killed while sending them leaves behind: Telegram never got them.
        """
        name = self._method_names.get(method.lower(), method)
        self._to_park[name] = self._to_park.get(name, 0) + times

    # ---- HTTP ------------------------------------------------------------------------------

    async def _handle_method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._json(TelegramError(401, "Unauthorized").body(), 401)
        name = request.match_info["method"]
        method = self._method_names.get(name.lower(), name)
        if method == "getUpdates":
            self.get_updates_count += 1
        if self._to_park.get(method):
            self._to_park[method] -= 1
            self.parked.append(method)
            await asyncio.Event().wait()  # cancelled when the server stops
        call = Call(method, {})
        body, status = await self._execute(call, request)
        if status == 409:
            if request.transport is None:
                # The client hung up while its long poll was parked (a poller that stopped):
                # the answer reaches nobody, so it is no conflict the bot saw.
                logger.debug("fake Telegram: 409 to a closed %s request dropped", method)
                return self._json(body, status)
            self.conflicts += 1
        if method != "getUpdates" or self.record_get_updates or not call.ok:
            self._record(call)
        if delays := self._delays.get(method):
            await asyncio.sleep(delays.pop(0))
        return self._json(body, status)

    async def _execute(
        self, call: Call, source: web.Request | tuple[dict[str, Any], dict[str, _Upload]]
    ) -> tuple[JSON, int]:
        """Read the parameters (from a request or already read), run ``call.method``, fill ``call``.

        Returns the JSON body and HTTP status to answer with.
        """
        try:
            raw, uploads = await self._read_request(source) if isinstance(source, web.Request) else source
            call.params, call.files, call.file_names = self._resolve_params(raw, uploads)
            self._raise_injected(call.method)
            handler = self._handlers.get(call.method)
            if handler is None:
                raise TelegramError(404, "Not Found: method not found")
            call.result = await handler(call.params, call.files, call.file_names)
            return {"ok": True, "result": call.result}, 200
        except TelegramError as exc:
            call.error, call.error_code = exc.description, exc.code
            return exc.body(), exc.code
        except Exception as exc:  # a bug in the fake; report it loudly but keep serving
            logger.exception("fake Telegram crashed in %s", call.method)
            call.error, call.error_code = f"Internal Server Error: {exc!r}", 500
            return {"ok": False, "error_code": 500, "description": call.error}, 500

    async def _handle_file(self, request: web.Request) -> web.Response:
        stored = self._files_by_path.get(request.match_info["path"])
        if request.match_info["token"] != self.token or stored is None:
            return self._json({"ok": False, "error_code": 404, "description": "Not Found"}, 404)
        return web.Response(body=stored.data, content_type="application/octet-stream")

    @staticmethod
    def _json(body: JSON, status: int) -> web.Response:
        return web.json_response(body, status=status, dumps=lambda obj: json.dumps(obj, ensure_ascii=False))

    @staticmethod
    async def _read_request(request: web.Request) -> tuple[dict[str, Any], dict[str, _Upload]]:
        """Query, JSON or form fields as sent, and the uploaded files."""
        raw: dict[str, Any] = dict(request.query)
        uploads: dict[str, _Upload] = {}
        if request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise _bad_request("Bad Request: can't parse JSON request body") from None
                if not isinstance(body, dict):
                    raise _bad_request("Bad Request: JSON request body must be an object")
                raw.update(body)
            else:
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        # Read and close now: an unclosed temp file is a ResourceWarning.
                        with value.file:
                            uploads[key] = _Upload(value.file.read(), value.filename, value.content_type)
                    else:
                        raw[key] = value
        return raw, uploads

    def _resolve_params(
        self, raw: dict[str, Any], uploads: dict[str, _Upload]
    ) -> tuple[dict[str, Any], dict[str, bytes], dict[str, str]]:
        """Typed parameters, and file bytes / names keyed by the parameter that attached them."""
        params = {key: self._normalize(key, value) for key, value in raw.items()}
        files: dict[str, bytes] = {}
        names: dict[str, str] = {}
        used: set[str] = set()

        def resolve(path: str, ref: Any) -> None:
            if isinstance(ref, str) and ref.startswith("attach://"):
                upload = uploads.get(ref[len("attach://") :])
                if upload is not None:
                    files[path] = upload.data
                    if upload.filename:
                        names[path] = upload.filename
                    used.add(ref[len("attach://") :])

        for key in _FILE_FIELDS:
            if key in uploads and key not in params:
                params[key] = f"attach://{key}"  # the file was posted as the parameter itself
            resolve(key, params.get(key))
        if isinstance(params.get("media"), list):
            for index, item in enumerate(params["media"]):
                if isinstance(item, dict):
                    resolve(f"media.{index}", item.get("media"))
                    resolve(f"media.{index}.thumbnail", item.get("thumbnail"))
        for key, upload in uploads.items():
            if key not in used:
                files[key] = upload.data
                if upload.filename:
                    names[key] = upload.filename
        total = sum(len(data) for data in files.values())
        if total > MAX_UPLOAD_BYTES:
            raise TelegramError(413, "Request Entity Too Large")
        return params, files, names

    @staticmethod
    def _normalize(key: str, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        if key in _JSON_FIELDS:
            try:
                return json.loads(value)
            except ValueError:
                what = "reply keyboard markup" if key == "reply_markup" else key
                raise _bad_request(f"Bad Request: can't parse {what} JSON object") from None
        if key in _STRING_FIELDS:
            return value
        if value in ("true", "false"):
            return value == "true"
        if re.fullmatch(r"-?\d+", value):
            return int(value)
        return value

    def _raise_injected(self, method: str) -> None:
        queue = self._failures.get(method)
        if not queue:
            return
        failure = queue[0]
        failure.times -= 1
        if failure.times <= 0:
            queue.pop(0)
        raise TelegramError(failure.code, failure.description, retry_after=failure.retry_after)

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        logger.debug("fake Telegram: %s", call.summary())
        self._calls_event.set()
        self._calls_event = asyncio.Event()

    # ---- state helpers ---------------------------------------------------------------------

    def _register_chat(self, chat: JSON) -> JSON:
        self._chats[chat["id"]] = dict(chat)
        self._messages.setdefault(chat["id"], {})
        return dict(chat)

    def _store_file(self, kind: str, data: bytes, ext: str, *, size: int | None = None) -> _StoredFile:
        n = next(self._ids)
        folder = {"photo": "photos", "sticker": "stickers"}.get(kind, "documents")
        stored = _StoredFile(
            file_id=f"fake-{kind}-{n:06d}",
            file_unique_id=f"uniq{n:06d}",
            data=data,
            size=len(data) if size is None else size,
            path=f"{folder}/file_{n}{ext}",
            kind=kind,
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.path] = stored
        return stored

    def _register_photo(self, data: bytes, *, size: int | None = None) -> list[JSON]:
        """PhotoSize list, smallest first; the last one is the exact bytes given."""
        image = _open_image(data)
        sizes: list[JSON] = []
        if image is not None:
            for side in _THUMB_SIDES:
                if max(image.size) > side:
                    thumb, width, height = _thumbnail(image, side)
                    stored = self._store_file("photo", thumb, ".jpg")
                    sizes.append(self._photo_size(stored, width, height))
        width, height = image.size if image is not None else (0, 0)
        stored = self._store_file("photo", data, _image_ext(image), size=size)
        sizes.append(self._photo_size(stored, width, height))
        for entry in sizes:
            self._photo_sets[entry["file_id"]] = sizes
        return copy.deepcopy(sizes)

    @staticmethod
    def _photo_size(stored: _StoredFile, width: int, height: int) -> JSON:
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "width": width,
            "height": height,
            "file_size": stored.size,
        }

    def _add_caption(self, content: JSON, caption: str | None) -> None:
        if caption:
            content["caption"] = caption
            if found := detect_entities(caption):
                content["caption_entities"] = found

    def _find_message(self, chat_id: int, message_id: int) -> JSON | None:
        if message_id in self._deleted.get(chat_id, set()):
            return None
        return self._messages.get(chat_id, {}).get(message_id)

    def _require_message(self, chat_id: int, message_id: int) -> JSON:
        msg = self._find_message(chat_id, message_id)
        if msg is None:
            raise ValueError(f"no message {message_id} in chat {chat_id}")
        return msg

    def _new_message(
        self,
        chat: JSON,
        sender: JSON,
        content: JSON,
        *,
        reply_to: JSON | None = None,
        thread_id: int | None = None,
    ) -> JSON:
        chat_id = chat["id"]
        self._register_chat(self._chats.get(chat_id, chat))
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        if thread_id is None and reply_to is not None:
            thread_id = reply_to.get("message_thread_id")  # replies stay in the topic
        msg: JSON = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": dict(self._chats[chat_id]),
            "from": dict(sender),
        }
        if thread_id is not None:
            msg["message_thread_id"] = thread_id
            if self._chats[chat_id].get("is_forum"):
                msg["is_topic_message"] = True
        if reply_to is not None:
            # Telegram nests only one level of reply_to_message.
            nested = copy.deepcopy(reply_to)
            nested.pop("reply_to_message", None)
            msg["reply_to_message"] = nested
        msg.update(copy.deepcopy(content))
        self._messages[chat_id][message_id] = msg
        return msg

    def _user_message(
        self,
        chat: JSON,
        user: JSON,
        content: JSON,
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
    ) -> JSON:
        self._users.setdefault(user["id"], dict(user))
        reply_to = None
        if reply_to_message_id is not None:
            reply_to = self._require_message(chat["id"], reply_to_message_id)
        return copy.deepcopy(
            self._new_message(chat, user, content, reply_to=reply_to, thread_id=message_thread_id)
        )

    def _addressed_to_bot(self, msg: JSON) -> bool:
        """What a bot in privacy mode gets from groups: commands, mentions, replies to it."""
        if msg.get("reply_to_message", {}).get("from", {}).get("id") == self.bot_id:
            return True
        text = msg.get("text") or msg.get("caption") or ""
        for entity in msg.get("entities", []) + msg.get("caption_entities", []):
            if entity["type"] == "bot_command":
                return True
            if entity["type"] == "mention":
                start = entity["offset"]
                mention = text.encode("utf-16-le")[2 * start : 2 * (start + entity["length"])]
                if mention.decode("utf-16-le")[1:].lower() == self.bot_username.lower():
                    return True
        return False

    def _queue(self, kind: str, payload: JSON) -> JSON:
        chat_type = payload.get("chat", {}).get("type")
        if (
            self.privacy_mode
            and kind == "message"
            and chat_type in ("group", "supergroup")
            and not self._addressed_to_bot(payload)
        ):
            logger.debug("privacy mode: group message %s not delivered", payload["message_id"])
            return {"update_id": None, kind: payload}
        update = {"update_id": next(self._update_ids), kind: payload}
        self._updates.append(copy.deepcopy(update))
        self._wake_pollers()
        return update

    def _wake_pollers(self) -> None:
        self._updates_event.set()
        self._updates_event = asyncio.Event()

    def _target_chat(self, params: dict[str, Any]) -> JSON:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise _bad_request("Bad Request: chat_id is empty")
        chat: JSON | None
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            wanted = chat_id[1:].lower()
            chat = next(
                (c for c in self._chats.values() if str(c.get("username", "")).lower() == wanted),
                None,
            )
        else:
            try:
                chat = self._chats.get(int(chat_id))
            except (TypeError, ValueError):
                chat = None
        if chat is None:
            raise _bad_request(ERR_CHAT_NOT_FOUND)
        if chat["id"] in self.blocked_chats:
            raise TelegramError(403, ERR_BLOCKED)
        return chat

    def _reply_target(self, chat: JSON, params: dict[str, Any]) -> JSON | None:
        reply = params.get("reply_parameters")
        allow_missing = bool(params.get("allow_sending_without_reply"))
        target_chat_id = chat["id"]
        message_id: Any = None
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            allow_missing = allow_missing or bool(reply.get("allow_sending_without_reply"))
            if reply.get("chat_id") is not None:
                target_chat_id = self._target_chat({"chat_id": reply["chat_id"]})["id"]
        elif params.get("reply_to_message_id") is not None:
            message_id = params["reply_to_message_id"]
        if message_id is None:
            return None
        target = self._find_message(target_chat_id, int(message_id))
        if target is None and not allow_missing:
            raise _bad_request(ERR_REPLY_NOT_FOUND)
        return target

    @staticmethod
    def _inline_markup(markup: Any, *, edit: bool = False) -> JSON | None:
        """Validate reply_markup; return what the message carries (only inline keyboards)."""
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad_request("Bad Request: can't parse reply keyboard markup JSON object")
        cleaned: JSON = _strip_none(markup)
        rows = cleaned.get("inline_keyboard")
        if "force_reply" in cleaned:
            placeholder = cleaned.get("input_field_placeholder")
            if cleaned["force_reply"] is not True or edit:
                raise _bad_request("Bad Request: can't parse reply keyboard markup JSON object")
            if placeholder is not None and not 1 <= len(str(placeholder)) <= 64:
                raise _bad_request("Bad Request: input field placeholder must be 1-64 characters long")
        if rows is None:
            if edit:
                raise _bad_request("Bad Request: inline keyboard expected")
            return None  # reply keyboards / force_reply / remove: not part of the message
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _bad_request("Bad Request: can't parse inline keyboard: rows must be arrays")
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                    raise _bad_request(
                        "Bad Request: can't parse inline keyboard button: "
                        'Field "text" must be of type String'
                    )
                if "callback_data" in button:
                    size = len(str(button["callback_data"]).encode("utf-8"))
                    if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                        raise _bad_request(ERR_BUTTON_DATA_INVALID)
                elif len(button) == 1:
                    raise _bad_request(ERR_TEXT_BUTTONS)
        if not any(rows):
            return None
        return cleaned

    def _bot_message(self, chat: JSON, params: dict[str, Any], content: JSON, markup: JSON | None) -> JSON:
        reply_to = self._reply_target(chat, params)
        thread_id = params.get("message_thread_id")
        if markup is not None:
            content = {**content, "reply_markup": markup}
        msg = self._new_message(chat, self.bot_user, content, reply_to=reply_to, thread_id=thread_id)
        return copy.deepcopy(msg)

    def _formatted(self, params: dict[str, Any], key: str, entities_key: str) -> tuple[str, list[JSON]]:
        value = params.get(key)
        text = "" if value is None else str(value)
        entities = params.get(entities_key)
        return format_text(text, params.get("parse_mode"), entities or None)

    def _caption_content(self, params: dict[str, Any], *, limit_error: str) -> JSON:
        caption, entities = self._formatted(params, "caption", "caption_entities")
        if len(caption) > MAX_CAPTION_LENGTH:
            raise _bad_request(limit_error)
        content: JSON = {}
        if caption:
            content["caption"] = caption
        if entities:
            content["caption_entities"] = entities
        if params.get("show_caption_above_media"):
            content["show_caption_above_media"] = True
        return content

    def _edit_target(self, params: dict[str, Any]) -> JSON:
        if params.get("inline_message_id") is not None:
            raise _bad_request("Bad Request: MESSAGE_ID_INVALID")  # inline mode is not modelled
        chat = self._target_chat(params)
        message_id = params.get("message_id")
        if message_id is None:
            raise _bad_request("Bad Request: message identifier is not specified")
        msg = self._find_message(chat["id"], int(message_id))
        if msg is None:
            raise _bad_request(ERR_EDIT_NOT_FOUND)
        if msg.get("from", {}).get("id") != self.bot_id:
            raise _bad_request(ERR_CANT_EDIT)
        return msg

    @staticmethod
    def _apply_edit(msg: JSON, content: JSON, markup: JSON | None, keys: Iterable[str]) -> JSON:
        for key in keys:
            msg.pop(key, None)
        msg.update(content)
        msg.pop("reply_markup", None)
        if markup is not None:
            msg["reply_markup"] = markup
        msg["edit_date"] = int(time.time())
        return copy.deepcopy(msg)

    @staticmethod
    def _scope_key(scope: Any, language_code: Any) -> tuple[str, str]:
        scope = _strip_none(scope) if isinstance(scope, dict) else {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(language_code or "")

    def _photo_from_params(
        self, params: dict[str, Any], files: dict[str, bytes], key: str, ref: Any
    ) -> list[JSON]:
        data = files.get(key)
        if data is not None:
            if len(data) > MAX_PHOTO_UPLOAD_BYTES:
                raise _bad_request(ERR_PHOTO_TOO_BIG)
            image = _open_image(data)
            if image is None:
                raise _bad_request(ERR_IMAGE_PROCESS_FAILED)
            width, height = image.size
            if width + height > 10_000 or max(width, height) > 20 * min(width, height):
                raise _bad_request(ERR_PHOTO_DIMENSIONS)
            return self._register_photo(data)
        if not isinstance(ref, str) or not ref:
            raise _bad_request("Bad Request: there is no photo in the request")
        if ref.startswith(("http://", "https://")):
            # Nothing is fetched offline: record a placeholder photo.
            stored = self._store_file("photo", b"", ".jpg")
            sizes = [self._photo_size(stored, 0, 0)]
            self._photo_sets[stored.file_id] = sizes
            return copy.deepcopy(sizes)
        if ref.startswith("attach://"):
            raise _bad_request(ERR_WRONG_FILE)
        if ref in self._photo_sets:
            return copy.deepcopy(self._photo_sets[ref])
        if ref in self._files:
            kind = self._files[ref].kind.capitalize()
            raise _bad_request(f"Bad Request: can't use file of type {kind} as Photo")
        raise _bad_request(ERR_WRONG_FILE)

    def _document_from_params(
        self, files: dict[str, bytes], names: dict[str, str], key: str, ref: Any
    ) -> JSON:
        data = files.get(key)
        if data is not None:
            file_name = names.get(key, "document")
            ext = "." + file_name.rsplit(".", 1)[-1] if "." in file_name else ""
            stored = self._store_file("document", data, ext)
            document = {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_name": file_name,
                "mime_type": mimetypes.guess_type(file_name)[0] or "application/octet-stream",
                "file_size": stored.size,
            }
            return document
        if isinstance(ref, str) and ref in self._files and not ref.startswith("attach://"):
            stored = self._files[ref]
            return {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_size": stored.size,
            }
        if isinstance(ref, str) and ref.startswith(("http://", "https://")):
            stored = self._store_file("document", b"", "")
            return {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
        raise _bad_request(ERR_WRONG_FILE)

    # ---- API methods -----------------------------------------------------------------------

    async def _true(self, params: dict[str, Any], files: Any, names: Any) -> bool:
        return True

    async def _get_me(self, params: dict[str, Any], files: Any, names: Any) -> JSON:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, params: dict[str, Any], files: Any, names: Any) -> list[JSON]:
        if self._webhook is not None:
            raise TelegramError(409, ERR_WEBHOOK_ACTIVE)
        offset = params.get("offset")
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        self._remember_allowed_updates(params)
        if offset:
            offset = int(offset)
            if offset > 0:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            else:
                self._updates = self._updates[offset:]
        # A newer poll terminates an older one parked here, as on the real server.
        self._poll_generation += 1
        generation = self._poll_generation
        self._wake_pollers()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if generation != self._poll_generation:
                raise TelegramError(409, ERR_CONFLICT)
            if self._webhook is not None:
                raise TelegramError(409, ERR_TERMINATED_BY_SET_WEBHOOK)
            batch = self._deliverable(limit)
            if batch or self._stopping:
                return batch
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            event = self._updates_event
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    def _remember_allowed_updates(self, params: dict[str, Any]) -> None:
        allowed = params.get("allowed_updates")
        if allowed is None:
            return
        if not isinstance(allowed, list) or not all(isinstance(kind, str) for kind in allowed):
            raise _bad_request("Bad Request: can't parse allowed_updates JSON object")
        # Telegram remembers the last list given (getUpdates and setWebhook share it); an empty
        # list means "the default set".
        self._allowed_updates = frozenset(allowed) or None

    def _deliverable(self, limit: int) -> list[JSON]:
        self._drop_unwanted()
        return copy.deepcopy(self._updates[:limit])

    def _pending_count(self) -> int:
        self._drop_unwanted()
        return len(self._updates)

    def _drop_unwanted(self) -> None:
        """Forget queued updates of kinds the bot did not ask for (``allowed_updates``)."""
        kept: list[JSON] = []
        for update in self._updates:
            kind = next(key for key in update if key != "update_id")
            allowed = (
                kind in self._allowed_updates
                if self._allowed_updates is not None
                else kind not in _OPT_IN_UPDATES
            )
            if allowed:
                kept.append(update)
            else:
                logger.debug("update %s (%s) dropped by allowed_updates", update["update_id"], kind)
        self._updates = kept

    async def _set_webhook(self, params: dict[str, Any], files: Any, names: Any) -> bool:
        url = str(params.get("url") or "").strip()
        if not url:  # Telegram: an empty URL removes the webhook
            return await self._delete_webhook(params, files, names)
        try:
            parts = urllib.parse.urlsplit(url)
        except ValueError:
            raise _bad_request(ERR_WEBHOOK_URL) from None
        # Telegram wants HTTPS on ports 80/88/443/8443; the fake takes plain HTTP on any port
        # so a test can run the receiver locally.
        if parts.scheme.lower() not in ("http", "https"):
            raise _bad_request(ERR_WEBHOOK_HTTPS)
        if not parts.hostname:
            raise _bad_request(ERR_WEBHOOK_URL)
        # An empty secret_token is no secret (the API server cannot tell "" from absent).
        secret = str(params.get("secret_token") or "")
        if len(secret) > MAX_SECRET_TOKEN_LENGTH:
            raise _bad_request(ERR_SECRET_TOO_LONG)
        if not _SECRET_TOKEN.fullmatch(secret):
            raise _bad_request(ERR_SECRET_CHARS)
        try:
            max_connections = int(params.get("max_connections") or DEFAULT_MAX_CONNECTIONS)
        except (TypeError, ValueError):
            raise _bad_request("Bad Request: invalid max_connections specified") from None
        self._remember_allowed_updates(params)
        if params.get("drop_pending_updates"):
            self._drop_pending()
        # Telegram clamps max_connections to 1..100. The fake delivers one update at a time
        # whatever it says, which is what max_connections=1 gives on Telegram.
        self._webhook = _Webhook(url, secret or None, min(max(max_connections, 1), 100))
        self._webhook_error = None
        self._webhook_changed()
        return True

    async def _delete_webhook(self, params: dict[str, Any], files: Any, names: Any) -> bool:
        if params.get("drop_pending_updates"):
            self._drop_pending()
        if self._webhook is not None:
            self._webhook = None
            self._webhook_error = None
            self._webhook_changed()
        return True

    async def _get_webhook_info(self, params: dict[str, Any], files: Any, names: Any) -> JSON:
        info: JSON = {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": self._pending_count(),
        }
        webhook = self._webhook
        if webhook is not None:
            info["url"] = webhook.url
            info["max_connections"] = webhook.max_connections
            if self._allowed_updates is not None:
                info["allowed_updates"] = sorted(self._allowed_updates)
        if self._webhook_error is not None:
            info["last_error_date"], info["last_error_message"] = self._webhook_error
        return info

    def _drop_pending(self) -> None:
        logger.debug("fake Telegram: %d pending update(s) dropped", len(self._updates))
        self._updates = []
        self._redeliver_id = None

    # ---- webhook delivery ------------------------------------------------------------------

    def _webhook_changed(self) -> None:
        """After setWebhook, deleteWebhook or stop: wake parked polls and the delivery worker."""
        self._wake_pollers()
        self._webhook_event.set()
        self._webhook_event = asyncio.Event()
        worker_idle = self._webhook_task is None or self._webhook_task.done()
        if self._webhook is not None and not self._stopping and worker_idle:
            self._webhook_task = asyncio.create_task(self._deliver_webhooks(), name="fake-telegram-webhook")

    async def _deliver_webhooks(self) -> None:
        """POST queued updates one at a time, in order, until the webhook is deleted.

        Like Telegram, the next update waits for a 2xx to the current one; a failure is retried
        (the same update, first in line) after a growing delay.
        """
        delay = self.webhook_retry_min
        while (webhook := self._webhook) is not None and not self._stopping:
            batch = self._deliverable(1)
            if not batch:
                await self._updates_event.wait()
                continue
            update = batch[0]
            update_id = update["update_id"]
            redelivery = self._redeliver_id == update_id
            self._webhook_in_flight = True
            try:
                delivered = await self._post_update(webhook, update, redelivery=redelivery)
            finally:
                self._webhook_in_flight = False
            if not delivered:
                if self._webhook != webhook:  # changed or deleted meanwhile: go on at once
                    delay = self.webhook_retry_min
                    continue
                event = self._webhook_event  # a new setWebhook / deleteWebhook cuts the wait short
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), delay)
                delay = min(delay * 2, self.webhook_retry_max)
                continue
            delay = self.webhook_retry_min
            if not redelivery and self.redeliver_fraction > 0 and self.rng.random() < self.redeliver_fraction:
                self._redeliver_id = update_id  # stays first in line: it goes out once more
            else:
                self._redeliver_id = None
                self._updates = [u for u in self._updates if u["update_id"] != update_id]

    async def _post_update(self, webhook: _Webhook, update: JSON, *, redelivery: bool) -> bool:
        """One delivery attempt, recorded; True when the receiver answered 2xx."""
        if self._webhook_session is None:
            self._webhook_session = aiohttp.ClientSession()
        headers = {"Content-Type": "application/json"}
        if webhook.secret_token is not None:
            headers[SECRET_TOKEN_HEADER] = webhook.secret_token
        status: int | None = None
        error: str | None = None
        try:
            async with self._webhook_session.post(
                webhook.url,
                data=json.dumps(update, ensure_ascii=False).encode("utf-8"),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.webhook_timeout),
                allow_redirects=False,
            ) as response:
                status = response.status
                if 200 <= status < 300:
                    await self._run_webhook_reply(response)
                else:
                    error = f"Wrong response from the webhook: {status} {response.reason or ''}".rstrip()
        except TimeoutError:
            error = "Read timeout expired"
        except aiohttp.ClientConnectorError:
            error = "Connection refused"
        except aiohttp.ClientError as exc:
            error = f"Connection error: {exc or type(exc).__name__}"
        except Exception as exc:  # a bug in the fake; keep the worker alive and say so
            logger.exception("fake Telegram crashed delivering update %s", update["update_id"])
            error = f"Internal error of the fake: {exc!r}"
        delivery = WebhookDelivery(update["update_id"], webhook.url, status, error, redelivery)
        self.webhook_deliveries.append(delivery)
        if error is not None:
            self._webhook_error = (int(time.time()), error)
            logger.debug("fake Telegram: webhook delivery failed: %s", delivery)
        return delivery.ok

    async def _run_webhook_reply(self, response: aiohttp.ClientResponse) -> None:
        """Run a method the bot put in its 2xx answer, as Telegram does (nobody sees the result).

        JSON, urlencoded and multipart bodies (aiogram's ``handle_in_background=False``) are
        understood; a body without ``method`` (e.g. ``{}``) is just an acknowledgement.
        """
        raw: dict[str, Any] = {}
        uploads: dict[str, _Upload] = {}
        try:
            if response.content_type == "application/json":
                body = json.loads(await response.read() or b"{}")
                if isinstance(body, dict):
                    raw.update(body)
            elif response.content_type == "application/x-www-form-urlencoded":
                raw.update(urllib.parse.parse_qsl(await response.text()))
            elif response.content_type == "multipart/form-data":
                async for part in aiohttp.MultipartReader(response.headers, response.content):
                    if not isinstance(part, aiohttp.BodyPartReader) or not part.name:
                        continue
                    data = bytes(await part.read())
                    if part.filename is None:
                        raw[part.name] = data.decode("utf-8")
                    else:
                        content_type = part.headers.get(aiohttp.hdrs.CONTENT_TYPE)
                        uploads[part.name] = _Upload(data, part.filename, content_type)
        except (ValueError, aiohttp.ClientError):
            logger.warning("fake Telegram: unreadable webhook answer ignored", exc_info=True)
            return
        name = raw.pop("method", None)
        if not isinstance(name, str) or not name:
            return
        call = Call(self._method_names.get(name.lower(), name), {}, webhook_reply=True)
        await self._execute(call, (raw, uploads))
        self._record(call)

    async def _set_my_commands(self, params: dict[str, Any], files: Any, names: Any) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad_request('Bad Request: parameter "commands" is required')
        if len(commands) > 100:
            raise _bad_request("Bad Request: too many commands specified")
        for command in commands:
            name = command.get("command", "") if isinstance(command, dict) else ""
            description = command.get("description", "") if isinstance(command, dict) else ""
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(name)):
                raise _bad_request("Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(description)) <= 256:
                raise _bad_request("Bad Request: command description is invalid")
        key = self._scope_key(params.get("scope"), params.get("language_code"))
        self._commands[key] = [{"command": c["command"], "description": c["description"]} for c in commands]
        return True

    async def _get_my_commands(self, params: dict[str, Any], files: Any, names: Any) -> list[JSON]:
        key = self._scope_key(params.get("scope"), params.get("language_code"))
        return copy.deepcopy(self._commands.get(key, []))

    async def _delete_my_commands(self, params: dict[str, Any], files: Any, names: Any) -> bool:
        self._commands.pop(self._scope_key(params.get("scope"), params.get("language_code")), None)
        return True

    async def _send_message(self, params: dict[str, Any], files: Any, names: Any) -> JSON:
        chat = self._target_chat(params)
        text, entities = self._formatted(params, "text", "entities")
        if not text:
            raise _bad_request(ERR_TEXT_EMPTY)
        if len(text) > MAX_TEXT_LENGTH:
            raise _bad_request(ERR_TEXT_TOO_LONG)
        markup = self._inline_markup(params.get("reply_markup"))
        content: JSON = {"text": text}
        if entities:
            content["entities"] = entities
        return self._bot_message(chat, params, content, markup)

    async def _edit_message_text(self, params: dict[str, Any], files: Any, names: Any) -> JSON:
        msg = self._edit_target(params)
        if "text" not in msg:
            raise _bad_request(ERR_NO_TEXT_TO_EDIT)
        text, entities = self._formatted(params, "text", "entities")
        if not text:
            raise _bad_request(ERR_TEXT_EMPTY)
        if len(text) > MAX_TEXT_LENGTH:
            raise _bad_request(ERR_EDIT_TEXT_TOO_LONG)
        # Omitting reply_markup in an edit removes the keyboard, so None is a real value here.
        markup = self._inline_markup(params.get("reply_markup"), edit=True)
        unchanged = (
            msg["text"] == text and msg.get("entities", []) == entities and msg.get("reply_markup") == markup
        )
        if unchanged:
            raise _bad_request(ERR_NOT_MODIFIED)
        content: JSON = {"text": text}
        if entities:
            content["entities"] = entities
        return self._apply_edit(msg, content, markup, ("text", "entities"))

    async def _edit_message_caption(self, params: dict[str, Any], files: Any, names: Any) -> JSON:
        msg = self._edit_target(params)
        if not any(key in msg for key in ("photo", "document", "video", "audio", "animation")):
            raise _bad_request(ERR_NO_CAPTION_TO_EDIT)
        content = self._caption_content(params, limit_error=ERR_EDIT_CAPTION_TOO_LONG)
        markup = self._inline_markup(params.get("reply_markup"), edit=True)
        unchanged = (
            msg.get("caption") == content.get("caption")
            and msg.get("caption_entities") == content.get("caption_entities")
            and msg.get("reply_markup") == markup
        )
        if unchanged:
            raise _bad_request(ERR_NOT_MODIFIED)
        keys = ("caption", "caption_entities", "show_caption_above_media")
        return self._apply_edit(msg, content, markup, keys)

    async def _edit_message_reply_markup(self, params: dict[str, Any], files: Any, names: Any) -> JSON:
        msg = self._edit_target(params)
        markup = self._inline_markup(params.get("reply_markup"), edit=True)
        if msg.get("reply_markup") == markup:
            raise _bad_request(ERR_NOT_MODIFIED)
        return self._apply_edit(msg, {}, markup, ())

    async def _delete_message(self, params: dict[str, Any], files: Any, names: Any) -> bool:
        chat = self._target_chat(params)
        message_id = int(params.get("message_id") or 0)
        if self._find_message(chat["id"], message_id) is None:
            raise _bad_request(ERR_DELETE_NOT_FOUND)
        self._deleted.setdefault(chat["id"], set()).add(message_id)
        return True

    async def _send_photo(self, params: dict[str, Any], files: dict[str, bytes], names: Any) -> JSON:
        chat = self._target_chat(params)
        content = self._caption_content(params, limit_error=ERR_CAPTION_TOO_LONG)
        markup = self._inline_markup(params.get("reply_markup"))
        content["photo"] = self._photo_from_params(params, files, "photo", params.get("photo"))
        if params.get("has_spoiler"):
            content["has_media_spoiler"] = True
        return self._bot_message(chat, params, content, markup)

    async def _send_document(
        self, params: dict[str, Any], files: dict[str, bytes], names: dict[str, str]
    ) -> JSON:
        chat = self._target_chat(params)
        content = self._caption_content(params, limit_error=ERR_CAPTION_TOO_LONG)
        markup = self._inline_markup(params.get("reply_markup"))
        content["document"] = self._document_from_params(files, names, "document", params.get("document"))
        return self._bot_message(chat, params, content, markup)

    async def _send_voice(self, params: dict[str, Any], files: dict[str, bytes], names: Any) -> JSON:
        return self._send_sound("voice", params, files)

    async def _send_audio(self, params: dict[str, Any], files: dict[str, bytes], names: Any) -> JSON:
        return self._send_sound("audio", params, files)

    def _send_sound(self, kind: str, params: dict[str, Any], files: dict[str, bytes]) -> JSON:
        """sendVoice / sendAudio with an uploaded file (what the bot sends)."""
        chat = self._target_chat(params)
        content = self._caption_content(params, limit_error=ERR_CAPTION_TOO_LONG)
        data = files.get(kind)
        if data is None:
            raise _bad_request(f'Bad Request: parameter "{kind}" is required')
        if not data:
            raise _bad_request("Bad Request: file must be non-empty")
        stored = self._store_file(kind, data, ".ogg" if data.startswith(b"OggS") else ".mp3")
        content[kind] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "duration": 1,
            "mime_type": "audio/ogg" if data.startswith(b"OggS") else "audio/mpeg",
            "file_size": stored.size,
        }
        return self._bot_message(chat, params, content, None)

    async def _send_media_group(
        self, params: dict[str, Any], files: dict[str, bytes], names: dict[str, str]
    ) -> list[JSON]:
        chat = self._target_chat(params)
        media = params.get("media")
        if media is None:
            raise _bad_request('Bad Request: parameter "media" is required')
        if not isinstance(media, list) or not media:
            raise _bad_request("Bad Request: there are no messages to send")
        if len(media) > MAX_ALBUM_SIZE:
            raise _bad_request("Bad Request: too many messages to send as an album")
        kinds = {item.get("type") if isinstance(item, dict) else None for item in media}
        if not kinds <= {"photo", "document"}:
            raise _bad_request("Bad Request: the fake supports only photo and document albums")
        if "document" in kinds and len(kinds) > 1:
            raise _bad_request("Bad Request: document can't be mixed with other media types")
        self._reply_target(chat, params)  # fail before anything is sent
        contents: list[JSON] = []
        for index, item in enumerate(media):
            content = self._caption_content(
                {**item, "parse_mode": item.get("parse_mode", params.get("parse_mode"))},
                limit_error=ERR_CAPTION_TOO_LONG,
            )
            key = f"media.{index}"
            ref = item.get("media")
            if isinstance(ref, str) and ref.startswith("attach://") and key not in files:
                raise _bad_request("Bad Request: can't parse InputMedia: media not found")
            try:
                if item["type"] == "photo":
                    content["photo"] = self._photo_from_params(item, files, key, ref)
                else:
                    content["document"] = self._document_from_params(files, names, key, ref)
            except TelegramError as exc:
                detail = exc.description.removeprefix("Bad Request: ")
                raise _bad_request(
                    f'Bad Request: failed to send message #{index + 1} with the error message "{detail}"'
                ) from None
            contents.append(content)
        group_id = str(20_000_000_000 + next(self._ids))
        return [
            self._bot_message(chat, params, {**content, "media_group_id": group_id}, None)
            for content in contents
        ]

    async def _send_chat_action(self, params: dict[str, Any], files: Any, names: Any) -> bool:
        self._target_chat(params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise _bad_request("Bad Request: wrong parameter action in request")
        return True

    async def _send_message_draft(self, params: dict[str, Any], files: Any, names: Any) -> bool:
        chat = self._target_chat(params)
        if chat["type"] != "private":
            raise _bad_request(ERR_DRAFT_PEER_INVALID)
        if not params.get("draft_id"):
            raise _bad_request('Bad Request: parameter "draft_id" must be non-zero')
        text, _ = self._formatted(params, "text", "entities")
        if len(text) > MAX_TEXT_LENGTH:
            raise _bad_request(ERR_TEXT_TOO_LONG)
        if params.get("can_stop") in (True, "true", "True"):
            self.stoppable_drafts[chat["id"], int(params["draft_id"])] = text
        return True

    async def _answer_callback_query(self, params: dict[str, Any], files: Any, names: Any) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._callback_queries or query_id in self.callback_answers:
            raise _bad_request(ERR_QUERY_TOO_OLD)
        if len(str(params.get("text") or "")) > MAX_CALLBACK_ANSWER_LENGTH:
            raise _bad_request("Bad Request: MESSAGE_TOO_LONG")
        self.callback_answers[query_id] = dict(params)
        return True

    async def _get_file(self, params: dict[str, Any], files: Any, names: Any) -> JSON:
        stored = self._files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise _bad_request(ERR_INVALID_FILE_ID)
        if stored.size > MAX_DOWNLOAD_BYTES:
            raise _bad_request(ERR_FILE_TOO_BIG)
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
            "file_path": stored.path,
        }

    async def _get_chat_member(self, params: dict[str, Any], files: Any, names: Any) -> JSON:
        chat = self._target_chat(params)
        user_id = int(params.get("user_id") or 0)
        user = self._users.get(user_id)
        if user is None:
            raise _bad_request("Bad Request: PARTICIPANT_ID_INVALID")
        if chat["type"] == "private":
            status = "member"
        else:
            status = self._admins.get(chat["id"], {}).get(user_id, "member")
        member: JSON = {"status": status, "user": dict(user)}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(
                dict.fromkeys(
                    (
                        "can_be_edited",
                        "is_anonymous",
                        "can_post_stories",
                        "can_edit_stories",
                        "can_delete_stories",
                        "can_promote_members",
                    ),
                    False,
                )
            )
            member.update(
                dict.fromkeys(
                    (
                        "can_manage_chat",
                        "can_delete_messages",
                        "can_manage_video_chats",
                        "can_restrict_members",
                        "can_change_info",
                        "can_invite_users",
                        "can_send_welcome_messages",
                    ),
                    True,
                )
            )
        return member

    async def _get_chat(self, params: dict[str, Any], files: Any, names: Any) -> JSON:
        chat = self._target_chat(params)
        info: JSON = {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }
        if chat["type"] == "private" and chat["id"] in self._users:
            user = self._users[chat["id"]]
            info.update({k: user[k] for k in ("first_name", "last_name", "username") if k in user})
        return info


@contextlib.asynccontextmanager
async def polling(dp: Dispatcher, bot: Bot, **kwargs: Any) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``dp`` long polling ``bot`` in the background for the ``async with`` body.

    On exit: stop polling, wait for update handlers still in flight (they may still be calling
    the API), then close the bot session — in that order, so nothing reopens a session and
    nothing leaks a ResourceWarning.
    """
    kwargs.setdefault("polling_timeout", 5)
    task = asyncio.create_task(dp.start_polling(bot, handle_signals=False, close_bot_session=False, **kwargs))
    try:
        yield task
    finally:
        try:
            if not task.done():
                with contextlib.suppress(RuntimeError):  # "Polling is not started" (yet)
                    await dp.stop_polling()
                if not task.done():
                    task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            # Dispatcher keeps in-flight handler tasks privately; let them finish.
            in_flight = list(getattr(dp, "_handle_update_tasks", ()))
            if in_flight:
                await asyncio.wait(in_flight, timeout=10)
        finally:
            await bot.session.close()

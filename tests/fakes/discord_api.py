"""A fake Discord (REST API v10 + JSON gateway + attachment CDN) for end-to-end tests.

It speaks just enough of Discord for an unmodified discord.py ``Client`` with an
``app_commands.CommandTree`` to log in, identify, sync commands, receive messages and
interactions, and answer them. REST, gateway WebSocket and CDN share one aiohttp port.

discord.py has two global seams (both class attributes, both needed):

* ``discord.http.Route.BASE = base_url + "/api/v10"`` for REST and webhooks, and
* ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)``: a plain
  ``Client`` never asks ``GET /gateway/bot``; it dials that constant directly.

``point_discord_py_at(base_url)`` sets both and returns a function that restores them.

Sharding works as on Discord. Every IDENTIFY opens its own session; one with ``"shard":
[id, count]`` gets READY with only its guilds, then their GUILD_CREATEs, and afterwards only
the events of guilds where ``(guild_id >> 22) % count == id``; DMs go to shard 0 alone. Several
sessions may be live at once (one per shard, from any number of processes); two sessions on the
same shard both receive its events, which is how duplicated handling shows up in
``FakeDiscord.deliveries``. ``guild_id_for_shard()`` picks guild ids for a given shard.

Threads are channels of type 11 (12 private, 10 under an announcement channel) made with
``FakeDiscord.add_thread()``; messages, interactions and REST calls in them name the thread as
their channel, and the bot can start threads itself over REST.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import mimetypes
import re
import secrets
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from aiohttp import BodyPartReader, WSMsgType, web

log = logging.getLogger(__name__)

JSON = dict[str, Any]
FileSpec = tuple[str, bytes, str]  # (filename, data, content_type)
VOICE_MESSAGE_FLAG = 1 << 13

API_PREFIX = "/api/v10"
DISCORD_EPOCH_MS = 1420070400000
MAX_CONTENT = 2000
SEND_TIMEOUT = 5.0  # seconds a gateway event may wait for a client to read
MAX_EMBEDS = 10

# Message flags the fake understands.
FLAG_SUPPRESS_EMBEDS = 1 << 2
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7
FLAG_SUPPRESS_NOTIFICATIONS = 1 << 12
FLAG_COMPONENTS_V2 = 1 << 15

# What @everyone may do in fake guilds: enough that permission checks in a bot pass
# (view, send, embed, attach, history, reactions, threads, app commands).
DEFAULT_PERMISSIONS = (
    (1 << 6)
    | (1 << 10)
    | (1 << 11)
    | (1 << 14)
    | (1 << 15)
    | (1 << 16)
    | (1 << 18)
    | (1 << 31)
    | (1 << 35)
    | (1 << 38)
)

THREAD_TYPES = (10, 11, 12)  # announcement, public and private threads
AUTO_ARCHIVE_MINUTES = (60, 1440, 4320, 10080)

# Close codes the fake's gateway uses, with Discord's meaning.
CLOSE_ALREADY_AUTHENTICATED = 4005
CLOSE_INVALID_SHARD = 4010
CLOSE_SHARDING_REQUIRED = 4011

# Where the ids guild_id_for_shard() makes start: 2023-01-01 in ms since the Discord epoch,
# older than every id the fake mints from the clock, so they never collide.
_SHARD_ID_BASE_MS = 252460800000

_MENTION_USER = re.compile(r"<@!?(\d+)>")
_MENTION_ROLE = re.compile(r"<@&(\d+)>")
_FILE_FIELD = re.compile(r"files\[(\d+)\]")


def point_discord_py_at(base_url: str) -> Callable[[], None]:
    """Aim discord.py's REST base and default gateway at a fake; returns an undo function."""
    import warnings

    import yarl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # discord.py imports deprecated audioop
        from discord.gateway import DiscordWebSocket
        from discord.http import Route

    old_base, old_gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    Route.BASE = base_url.rstrip("/") + API_PREFIX
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(_ws_url(base_url))

    def restore() -> None:
        Route.BASE = old_base
        DiscordWebSocket.DEFAULT_GATEWAY = old_gateway

    return restore


def shard_for_guild(guild_id: int, shard_count: int) -> int:
    """The shard Discord sends a guild's events to: ``(guild_id >> 22) % shard_count``."""
    return (guild_id >> 22) % shard_count


def guild_id_for_shard(shard_id: int, shard_count: int, n: int = 0) -> int:
    """A valid guild snowflake whose events go to ``shard_id`` of ``shard_count``.

    ``n`` picks the n-th such id, so a test can have several guilds on one shard.
    """
    if not 0 <= shard_id < shard_count:
        raise ValueError(f"shard {shard_id} is not one of {shard_count} shards")
    ms = _SHARD_ID_BASE_MS - _SHARD_ID_BASE_MS % shard_count + n * shard_count + shard_id
    return ms << 22


def _ws_url(base_url: str) -> str:
    return "ws" + base_url.rstrip("/").removeprefix("http") + "/"


def _iso_now() -> str:
    return datetime.now(UTC).isoformat()


def _json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # discord.py only decodes JSON when Content-Type is exactly "application/json" (no charset).
    return web.Response(
        status=status, body=json.dumps(data).encode(), content_type="application/json", headers=headers
    )


# ---------------------------------------------------------------------------- public records


@dataclass
class RestCall:
    """One REST request the bot made. ``path`` is relative to /api/v10, without the query."""

    method: str
    path: str
    json: Any | None
    files: list[FileSpec]
    query: dict[str, str] = field(default_factory=dict)
    status: int = 0  # the status the fake answered with (0 while still being handled)
    at: float = 0.0  # time.monotonic() when received

    def __str__(self) -> str:
        body = json.dumps(self.json)[:300] if self.json is not None else "-"
        files = f" files={[f[0] for f in self.files]}" if self.files else ""
        return f"{self.method} {self.path} -> {self.status} {body}{files}"


class Delivery(NamedTuple):
    """One dispatch a gateway connection got (a RESUME's replay counts on the new connection)."""

    event: str
    shard_id: int
    connection_id: int  # index into FakeDiscord.gateway_connections


@dataclass(frozen=True)
class GatewaySession:
    """A live gateway session, as ``FakeDiscord.sessions()`` reports it."""

    session_id: str
    shard_id: int
    shard_count: int
    connection_id: int  # index into FakeDiscord.gateway_connections
    ready: bool  # READY and the shard's GUILD_CREATEs have been sent

    @property
    def shard(self) -> tuple[int, int]:
        return (self.shard_id, self.shard_count)


@dataclass
class FakeUser:
    id: int
    name: str
    bot: bool = False
    global_name: str | None = None
    # The language of the user's Discord client: sent as `locale` on their interactions.
    locale: str = "en-US"

    def payload(self) -> JSON:
        return {
            "id": str(self.id),
            "username": self.name,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
        }


@dataclass
class FakeChannel:
    id: int
    name: str
    type: int = 0  # 0 text, 1 DM, 2 voice, 4 category, 5 news
    guild_id: int | None = None
    position: int = 0
    recipient: FakeUser | None = None  # DMs only
    topic: str | None = None
    parent_id: int | None = None

    def payload(self) -> JSON:
        if self.type == 1:
            return {
                "id": str(self.id),
                "type": 1,
                "last_message_id": None,
                "flags": 0,
                "recipients": [self.recipient.payload()] if self.recipient else [],
            }
        data: JSON = {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(self.guild_id),
            "name": self.name,
            "position": self.position,
            "permission_overwrites": [],
            "nsfw": False,
            "topic": self.topic,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "parent_id": str(self.parent_id) if self.parent_id else None,
            "flags": 0,
        }
        if self.type in (2, 13):
            data.update(bitrate=64000, user_limit=0, rtc_region=None)
        return data


@dataclass
class FakeThread(FakeChannel):
    """A thread under the text channel ``parent_id``: type 11 public, 12 private, 10 announcement."""

    type: int = 11
    owner_id: int = 0
    bot_id: int = 0  # once the bot is in member_ids, payloads carry its thread ``member``
    member_ids: dict[int, str] = field(default_factory=dict)  # user id -> join timestamp
    archived: bool = False
    locked: bool = False
    auto_archive_duration: int = 1440  # minutes
    created_at: str = field(default_factory=_iso_now)
    archive_timestamp: str | None = None  # last (un)archive; created_at until then
    message_count: int = 0
    last_message_id: int | None = None

    def payload(self) -> JSON:
        metadata: JSON = {
            "archived": self.archived,
            "auto_archive_duration": self.auto_archive_duration,
            "archive_timestamp": self.archive_timestamp or self.created_at,
            "locked": self.locked,
            "create_timestamp": self.created_at,
        }
        if self.type == 12:
            metadata["invitable"] = True
        data: JSON = {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(self.guild_id),
            "parent_id": str(self.parent_id),
            "owner_id": str(self.owner_id),
            "name": self.name,
            "last_message_id": str(self.last_message_id) if self.last_message_id else None,
            "message_count": self.message_count,
            "total_message_sent": self.message_count,
            "member_count": min(len(self.member_ids), 50),
            "rate_limit_per_user": 0,
            "flags": 0,
            "applied_tags": [],
            "thread_metadata": metadata,
        }
        joined = self.member_ids.get(self.bot_id)
        if joined is not None:
            data["member"] = {
                "id": str(self.id),
                "user_id": str(self.bot_id),
                "join_timestamp": joined,
                "flags": 0,
            }
        return data


@dataclass
class FakeGuild:
    id: int
    name: str
    owner_id: int
    channels: dict[int, FakeChannel]
    members: dict[int, FakeUser]
    joined_at: str = field(default_factory=_iso_now)
    threads: dict[int, FakeThread] = field(default_factory=dict)

    def everyone_role(self) -> JSON:
        return {
            "id": str(self.id),
            "name": "@everyone",
            "permissions": str(DEFAULT_PERMISSIONS),
            "position": 0,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }

    def member_payload(self, user: FakeUser, *, with_user: bool = True) -> JSON:
        data: JSON = {
            "nick": None,
            "avatar": None,
            "roles": [],
            "joined_at": self.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }
        if with_user:
            data["user"] = user.payload()
        return data

    def payload(self) -> JSON:
        """A GUILD_CREATE body complete enough for discord.py to cache channels and members."""
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(self.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "preferred_locale": "en-US",
            "features": [],
            "roles": [self.everyone_role()],
            "emojis": [],
            "stickers": [],
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "application_id": None,
            "vanity_url_code": None,
            "max_members": 500000,
            "joined_at": self.joined_at,
            "large": False,
            "unavailable": False,
            # member_count == len(members) makes discord.py treat the guild as chunked.
            "member_count": len(self.members),
            "members": [self.member_payload(u) for u in self.members.values()],
            "channels": [c.payload() for c in self.channels.values()],
            # Like Discord: the active threads; archived ones are only fetched on demand.
            "threads": [t.payload() for t in self.threads.values() if not t.archived],
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }


@dataclass
class InteractionEvent:
    """One thing the bot did with an interaction: callback, followup, edit, delete."""

    kind: str
    message_id: int | None
    body: Any | None
    at: float


@dataclass
class FakeInteraction:
    """An interaction the fake sent, and everything the bot answered to it."""

    id: int
    token: str
    type: int  # 2 application command, 3 component
    name: str  # command name, or the component's custom_id
    channel_id: int
    guild_id: int | None
    user: FakeUser
    payload: JSON  # the INTERACTION_CREATE body as sent
    sent_at: float  # time.monotonic()
    message_id: int | None = None  # component interactions: the message the component is on
    callback_type: int | None = None  # 1/4/5/6/7/8/9 once acknowledged
    callback_data: Any | None = None
    acknowledged_at: float | None = None
    original_message_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)
    events: list[InteractionEvent] = field(default_factory=list)
    _fake: FakeDiscord | None = field(default=None, repr=False, compare=False)

    @property
    def acknowledged(self) -> bool:
        return self.callback_type is not None

    @property
    def original(self) -> JSON | None:
        """Current state of the original response message (None before a message exists)."""
        if self._fake is None or self.original_message_id is None:
            return None
        return self._fake.message(self.original_message_id)

    @property
    def followups(self) -> list[JSON]:
        """Current state of the follow-up messages, oldest first."""
        if self._fake is None:
            return []
        return [self._fake.message(mid) for mid in self.followup_ids]

    @property
    def edits(self) -> list[InteractionEvent]:
        return [e for e in self.events if e.kind == "edit"]


# ---------------------------------------------------------------------------- internals


class ApiError(Exception):
    def __init__(self, status: int, code: int, message: str, errors: JSON | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.body: JSON = {"code": code, "message": message}
        if errors is not None:
            self.body["errors"] = errors


def _form_error(field_path: str, code: str, message: str) -> ApiError:
    errors: JSON = {"_errors": [{"code": code, "message": message}]}
    for part in reversed(field_path.split(".")):
        errors = {part: errors}
    return ApiError(400, 50035, "Invalid Form Body", errors)


def _unknown_message() -> ApiError:
    return ApiError(404, 10008, "Unknown Message")


def _unknown_channel() -> ApiError:
    return ApiError(404, 10003, "Unknown Channel")


def _unknown_webhook() -> ApiError:
    return ApiError(404, 10015, "Unknown Webhook")


def _unknown_interaction() -> ApiError:
    return ApiError(404, 10062, "Unknown interaction")


@dataclass
class _Upload:
    index: int
    filename: str
    data: bytes
    content_type: str


@dataclass
class _Req:
    call: RestCall
    request: web.Request
    args: tuple[str, ...]
    body: Any  # JSON body, or payload_json of a multipart body; {} when absent
    uploads: list[_Upload]


@dataclass
class _Stored:
    payload: JSON
    channel_id: int
    versions: list[JSON]
    deleted: bool = False


@dataclass
class _Failure:
    method: str
    pattern: re.Pattern[str]
    status: int
    body: Any
    remaining: int


@dataclass
class _Conn:
    """One gateway WebSocket; ``id`` is its index in FakeDiscord.gateway_connections."""

    id: int
    ws: web.WebSocketResponse
    closed_by_fake: bool = False


@dataclass
class _Session:
    """A gateway session: outlives its connection until a client closes with 1000/1001."""

    id: str
    conn: _Conn | None  # None while waiting for a RESUME
    shard_id: int = 0
    shard_count: int = 1
    seq: int = 0
    frames: list[JSON] = field(default_factory=list)  # every dispatch, for RESUME replay
    ready: bool = False

    @property
    def live(self) -> bool:
        return self.conn is not None and not self.conn.ws.closed

    def receives(self, guild_id: int | None) -> bool:
        """Discord's routing: a guild's events go to its shard, the rest (DMs) to shard 0."""
        if guild_id is None:
            return self.shard_id == 0
        return shard_for_guild(guild_id, self.shard_count) == self.shard_id


@dataclass
class _Written:
    delivery: Delivery
    data: JSON
    session_id: str
    seq: int


def _event_guild(event: str, data: JSON) -> int | None:
    """The guild an event belongs to, which decides the shard that gets it."""
    raw = data.get("guild_id")
    if raw is None and event in ("GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE"):
        raw = data.get("id")
    return int(raw) if raw is not None else None


Handler = Callable[[_Req], Awaitable[Any]]


def _sniff_type(filename: str, data: bytes, declared: str | None) -> str:
    # discord.py uploads every file as application/octet-stream; Discord infers the real type.
    if declared and declared != "application/octet-stream":
        return declared
    guessed = mimetypes.guess_type(filename)[0]
    if guessed:
        return guessed
    magic = {
        b"\x89PNG\r\n\x1a\n": "image/png",
        b"\xff\xd8\xff": "image/jpeg",
        b"GIF8": "image/gif",
    }
    for prefix, ctype in magic.items():
        if data.startswith(prefix):
            return ctype
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


def _image_size(data: bytes) -> tuple[int, int] | None:
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as img:
            return img.size
    except Exception:
        return None


def _walk_components(components: Iterable[Any]) -> Iterable[JSON]:
    for comp in components:
        if not isinstance(comp, dict):
            continue
        yield comp
        yield from _walk_components(comp.get("components") or [])
        accessory = comp.get("accessory")
        if isinstance(accessory, dict):
            yield accessory


# ---------------------------------------------------------------------------- the fake


class FakeDiscord:
    """Fake Discord server. See the module docstring for how to aim discord.py at it."""

    def __init__(
        self,
        application_id: int = 9000,
        bot_user_id: int = 9000,
        bot_name: str = "wenwen",
        *,
        heartbeat_interval_ms: int = 41250,
        recommended_shards: int = 1,
    ) -> None:
        self.application_id = application_id
        self.bot = FakeUser(bot_user_id, bot_name, bot=True)
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.interaction_deadline = 3.0  # seconds from dispatch to the first callback
        self.upload_limit = 10 * 1024 * 1024  # total multipart file bytes per request
        self.dispatch_own_messages = True  # echo the bot's messages back as MESSAGE_CREATE etc.
        self.expected_token: str | None = None  # when set, other bot tokens get 401
        self.recommended_shards = recommended_shards  # "shards" in GET /gateway/bot
        self.max_concurrency = 1  # session_start_limit.max_concurrency in GET /gateway/bot
        self.max_guilds_per_shard = 2500  # a session with more is closed 4011 (sharding required)

        self.calls: list[RestCall] = []
        self.registered_commands: dict[int | None, list[JSON]] = {}  # guild id (None: global)
        self.guilds: dict[int, FakeGuild] = {}
        self.users: dict[int, FakeUser] = {self.bot.id: self.bot}
        self.identify_payload: JSON | None = None  # the latest IDENTIFY
        self.identify_payloads: list[JSON] = []  # every IDENTIFY with a good token, refused shards too
        self.gateway_connections: list[dict[str, str]] = []  # query of each WS connect
        self.heartbeats = 0
        self.resumes = 0
        self.cdn_hits: list[str] = []

        self._channels: dict[int, FakeChannel] = {}
        self._dms: dict[int, FakeChannel] = {}  # user id -> DM channel
        self._messages: dict[int, _Stored] = {}
        self._attachments: dict[int, tuple[int, FileSpec]] = {}  # id -> (channel id, file)
        self._interactions: dict[int, FakeInteraction] = {}
        self._by_token: dict[str, FakeInteraction] = {}
        self._command_ids: dict[tuple[int | None, str], int] = {}
        self._failures: list[_Failure] = []
        self._sessions: list[_Session] = []  # open sessions, connected or awaiting a RESUME
        self._identified = False  # some client has identified (events before that are an error)
        self._conns: list[_Conn] = []  # open gateway sockets
        self._written: list[_Written] = []  # what deliveries reports
        self._pending: list[tuple[str, JSON]] = []  # world changes to dispatch before anything else
        self._tasks: set[asyncio.Task[None]] = set()
        self._last_snowflake = 0
        self._changed = asyncio.Condition()
        self._ready = asyncio.Event()
        self._send_lock = asyncio.Lock()
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = self._route_table()

    # ------------------------------------------------------------------ lifecycle

    @property
    def api_url(self) -> str:
        return self.base_url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        return _ws_url(self.base_url)

    @property
    def deliveries(self) -> list[Delivery]:
        """Every dispatch a connection got, in order: (event, shard id, connection id).

        A frame written to a socket that was going away and then replayed after RESUME counts
        once, on the connection that resumed (the RESUME's sequence number says it was lost).
        """
        return [w.delivery for w in self._written]

    def deliveries_of(self, event: str, object_id: int | str | None = None) -> list[Delivery]:
        """Deliveries of ``event``, only those whose payload ``id`` is ``object_id`` if given.

        ``fake.deliveries_of("MESSAGE_CREATE", msg["id"])`` tells which shards and connections
        saw a message; more than one connection means two sessions could both answer it.
        """
        return [
            w.delivery
            for w in self._written
            if w.delivery.event == event and (object_id is None or str(w.data.get("id")) == str(object_id))
        ]

    def sessions(self) -> list[GatewaySession]:
        """The live gateway sessions (connected now), oldest first."""
        return [
            GatewaySession(s.id, s.shard_id, s.shard_count, s.conn.id, s.ready)
            for s in self._sessions
            if s.live and s.conn is not None
        ]

    @property
    def intents(self) -> int | None:
        """Intents value from the last IDENTIFY."""
        return None if self.identify_payload is None else self.identify_payload.get("intents")

    async def start(self) -> str:
        # Uploads must reach the handler so it can answer 413 like Discord does.
        app = web.Application(client_max_size=1024**3)
        app.router.add_get("/", self._gateway)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/attachments/{channel}/{attachment}/{filename}", self._cdn)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._api)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        log.info("fake discord listening on %s", self.base_url)
        return self.base_url

    async def stop(self) -> None:
        """Stop serving. Close the discord.py client first, or it will keep reconnecting."""
        for task in list(self._tasks):
            task.cancel()
        for conn in list(self._conns):
            conn.closed_by_fake = True
            await conn.ws.close(code=1001)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def wait_ready(
        self,
        timeout: float = 10.0,  # noqa: ASYNC109 - test-facing API
        *,
        shards: Iterable[int] | None = None,
    ) -> None:
        """Wait until the latest IDENTIFY was answered with READY and its GUILD_CREATEs.

        With ``shards``, wait instead until each of those shard ids has a live, ready session.
        """
        wanted = set(shards) if shards is not None else None

        def shards_ready() -> bool:
            return wanted is not None and wanted <= {s.shard_id for s in self._sessions if s.live and s.ready}

        try:
            if wanted is None:
                await asyncio.wait_for(self._ready.wait(), timeout)
            else:
                async with self._changed:
                    await asyncio.wait_for(self._changed.wait_for(shards_ready), timeout)
        except TimeoutError:
            live = [s.shard for s in self.sessions()]
            raise AssertionError(
                f"no client became ready within {timeout}s (live sessions: {live}); "
                f"calls so far:\n{self._dump_calls()}"
            ) from None

    # ------------------------------------------------------------------ world setup

    def user(self, id: int, name: str, *, bot: bool = False, locale: str = "en-US") -> FakeUser:
        u = FakeUser(id, name, bot=bot, locale=locale)
        self.users[id] = u
        return u

    def add_guild(
        self,
        id: int,
        name: str,
        channels: Sequence[tuple[int, str] | tuple[int, str, int]] = (),
        *,
        members: Sequence[FakeUser] = (),
        owner_id: int | None = None,
    ) -> FakeGuild:
        """Add a guild. Channels are (id, name) text channels or (id, name, type).

        The bot is always a member. Add guilds before the client connects; a guild added
        later is announced with a live GUILD_CREATE. The id decides the shard that gets the
        guild's events (see ``guild_id_for_shard``).
        """
        chans: dict[int, FakeChannel] = {}
        for pos, spec in enumerate(channels):
            ctype = spec[2] if len(spec) == 3 else 0
            chan = FakeChannel(spec[0], spec[1], ctype, guild_id=id, position=pos)
            chans[chan.id] = chan
            self._channels[chan.id] = chan
        mems = {self.bot.id: self.bot}
        for m in members:
            mems[m.id] = m
            self.users[m.id] = m
        owner = owner_id if owner_id is not None else next(iter(members), self.bot).id
        guild = FakeGuild(id, name, owner, chans, mems)
        self.guilds[id] = guild
        self._announce_soon("GUILD_CREATE", guild.payload())
        return guild

    def add_thread(
        self,
        parent_channel_id: int,
        thread_id: int,
        name: str,
        *,
        owner: FakeUser | None = None,
        private: bool = False,
        joined: bool = False,
        archived: bool = False,
        locked: bool = False,
    ) -> FakeThread:
        """Add a thread under a guild text channel: type 11 (12 with ``private``; 10 when the
        parent is an announcement channel).

        Like guilds: one added before the client connects arrives in GUILD_CREATE's
        ``threads`` (unless archived), one added later with a live THREAD_CREATE.
        ``joined`` makes the bot a thread member. ``owner`` defaults to the guild owner.
        """
        parent = self._channels.get(parent_channel_id)
        if parent is None or parent.guild_id is None or parent.type not in (0, 5):
            raise ValueError(f"channel {parent_channel_id} is not a guild text channel")
        if thread_id in self._channels:
            raise ValueError(f"channel id {thread_id} is taken")
        guild = self.guilds[parent.guild_id]
        ttype = 10 if parent.type == 5 else 12 if private else 11
        owner_id = owner.id if owner is not None else guild.owner_id
        if owner is not None:
            self.users.setdefault(owner.id, owner)
        thread = self._new_thread(parent, thread_id, name, ttype, owner_id)
        if joined:
            thread.member_ids[self.bot.id] = thread.created_at
        thread.archived, thread.locked = archived, locked
        self._announce_soon("THREAD_CREATE", {**thread.payload(), "newly_created": True})
        return thread

    def archive_thread(self, thread_id: int, *, locked: bool = False) -> FakeThread:
        """Archive a thread (as Discord does after auto_archive_duration); THREAD_UPDATE follows.

        Posting in it again reopens it, unless ``locked``: then the bot gets 400 50083.
        """
        thread = self.thread(thread_id)
        thread.archived, thread.locked = True, locked
        thread.archive_timestamp = _iso_now()
        self._announce_soon("THREAD_UPDATE", thread.payload())
        return thread

    def thread(self, thread_id: int) -> FakeThread:
        chan = self._channels[thread_id]
        if not isinstance(chan, FakeThread):
            raise KeyError(f"channel {thread_id} is not a thread")
        return chan

    def dm_channel(self, user: FakeUser) -> FakeChannel:
        """The DM channel (type 1) between the bot and ``user``, created on first use."""
        chan = self._dms.get(user.id)
        if chan is None:
            self.users.setdefault(user.id, user)
            chan = FakeChannel(self._snowflake(), user.name, 1, recipient=user)
            self._dms[user.id] = chan
            self._channels[chan.id] = chan
        return chan

    def channel(self, channel_id: int) -> FakeChannel:
        return self._channels[channel_id]

    # ------------------------------------------------------------------ incoming events

    async def send_message(
        self,
        channel_id: int,
        user: FakeUser,
        content: str = "",
        *,
        attachments: Sequence[FileSpec] = (),
        reference_message_id: int | None = None,
        guild_id: int | None = None,
        embeds: Sequence[JSON] = (),
        voice_seconds: float | None = None,
    ) -> JSON:
        """Dispatch MESSAGE_CREATE from ``user``; returns the stored message payload.

        ``voice_seconds``: the message is a voice message (flag IS_VOICE_MESSAGE), its one
        attachment an Ogg recording with ``duration_secs`` and a waveform, as clients send them.
        """
        self._require_session()
        chan = self._channel_for_event(channel_id, guild_id)
        self._reopen(chan)
        self.users.setdefault(user.id, user)
        atts = [self._new_attachment(chan.id, name, data, ctype) for name, data, ctype in attachments]
        flags = 0
        if voice_seconds is not None:
            if content or len(atts) != 1:
                raise ValueError("a voice message has no text and exactly one attachment")
            atts[0] |= {"duration_secs": voice_seconds, "waveform": "AAAAAAAAAAAA"}
            flags = VOICE_MESSAGE_FLAG
        body: JSON = {"content": content, "embeds": list(embeds)}
        if reference_message_id is not None:
            body["message_reference"] = {"message_id": reference_message_id}
        msg = self._build_message(chan, user, body, attachments=atts, flags=flags)
        self._store(chan.id, msg)
        await self._dispatch("MESSAGE_CREATE", self._gateway_message(msg, author=user))
        return msg

    async def slash_command(
        self,
        channel_id: int,
        user: FakeUser,
        name: str,
        *,
        options: dict[str, Any] | None = None,
        attachments: dict[str, FileSpec] | None = None,
        guild_id: int | None = None,
    ) -> FakeInteraction:
        """Dispatch INTERACTION_CREATE type 2 for ``/name``.

        Option types come from the registered command when it was synced, else from the
        Python value (str 3, int 4, bool 5, float 10, FakeUser 6). ``attachments`` maps an
        option name to a file; it becomes a type 11 option resolved in data.resolved.
        """
        self._require_session()
        chan = self._channel_for_event(channel_id, guild_id)
        gid = chan.guild_id
        command = self._find_command(name, gid)
        specs = {o["name"]: o for o in (command or {}).get("options", [])}
        opts: list[JSON] = []
        resolved: JSON = {}
        for opt_name, value in (options or {}).items():
            declared = specs.get(opt_name, {}).get("type")
            if isinstance(value, FakeUser):
                resolved.setdefault("users", {})[str(value.id)] = value.payload()
                if gid is not None:
                    member = self.guilds[gid].member_payload(value, with_user=False)
                    member["permissions"] = str(DEFAULT_PERMISSIONS)
                    resolved.setdefault("members", {})[str(value.id)] = member
                opts.append({"name": opt_name, "type": declared or 6, "value": str(value.id)})
                continue
            if declared is None:
                declared = (
                    5
                    if isinstance(value, bool)
                    else 4
                    if isinstance(value, int)
                    else 10
                    if isinstance(value, float)
                    else 3
                )
            opts.append({"name": opt_name, "type": declared, "value": value})
        for opt_name, (fname, data, ctype) in (attachments or {}).items():
            att = self._new_attachment(chan.id, fname, data, ctype, ephemeral=True)
            resolved.setdefault("attachments", {})[att["id"]] = att
            opts.append({"name": opt_name, "type": 11, "value": att["id"]})
        if command is None:
            log.warning("slash_command /%s: no such command was registered; sending anyway", name)
        cmd_data: JSON = {
            "id": (command or {}).get("id", str(self._snowflake())),
            "name": name,
            "type": 1,
            "options": opts,
        }
        if resolved:
            cmd_data["resolved"] = resolved
        if command is not None and command.get("guild_id"):
            cmd_data["guild_id"] = command["guild_id"]
        return await self._send_interaction(2, chan, user, cmd_data, name=name)

    async def press_button(
        self,
        channel_id: int,
        user: FakeUser,
        message_id: int,
        custom_id: str,
        guild_id: int | None = None,
        *,
        values: Sequence[str] | None = None,
    ) -> FakeInteraction:
        """Dispatch INTERACTION_CREATE type 3 for a component on a stored message.

        ``values`` turns it into a select-menu choice.
        """
        self._require_session()
        chan = self._channel_for_event(channel_id, guild_id)
        stored = self._messages.get(message_id)
        if stored is None or stored.deleted:
            raise KeyError(f"press_button: no message {message_id}")
        component_type = 3 if values is not None else 2
        for comp in _walk_components(stored.payload.get("components") or []):
            if comp.get("custom_id") == custom_id:
                component_type = int(comp.get("type", component_type))
                break
        else:
            log.warning("press_button: message %s has no component %r", message_id, custom_id)
        data: JSON = {"custom_id": custom_id, "component_type": component_type}
        if values is not None:
            data["values"] = list(values)
        return await self._send_interaction(3, chan, user, data, name=custom_id, message=stored.payload)

    async def submit_modal(
        self,
        channel_id: int,
        user: FakeUser,
        opened_by: FakeInteraction,
        values: dict[str, str],
        guild_id: int | None = None,
    ) -> FakeInteraction:
        """Dispatch INTERACTION_CREATE type 5: ``user`` fills in and submits the modal the bot
        showed in answer to ``opened_by`` (callback type 9), one value per text input.

        Like Discord, only a modal that was shown can be submitted, only by the person it was
        shown to, and every required input must have a value within its length limits.
        """
        self._require_session()
        modal = opened_by.callback_data if opened_by.callback_type == 9 else None
        if not isinstance(modal, dict):
            raise ValueError(f"interaction {opened_by.id} showed no modal")
        if user.id != opened_by.user.id:
            raise ValueError("a modal is only shown to the person whose interaction opened it")
        rows: list[JSON] = []
        for comp in _walk_components(modal.get("components") or []):
            if comp.get("type") != 4:
                continue
            value = values.get(comp["custom_id"], "")
            low, high = int(comp.get("min_length") or 0), int(comp.get("max_length") or 4000)
            if (comp.get("required", True) and not value) or not (low <= len(value) <= high or not value):
                raise ValueError(f"the modal would refuse {value!r} for {comp['custom_id']!r}")
            rows.append(
                {"type": 1, "components": [{"type": 4, "custom_id": comp["custom_id"], "value": value}]}
            )
        chan = self._channel_for_event(channel_id, guild_id)
        source = self._messages.get(opened_by.message_id) if opened_by.message_id is not None else None
        data: JSON = {"custom_id": modal["custom_id"], "components": rows}
        return await self._send_interaction(
            5, chan, user, data, name=modal["custom_id"], message=source.payload if source else None
        )

    # ------------------------------------------------------------------ gateway control

    # Each acts on the newest live session, or the newest one of shard ``shard_id``.

    async def request_reconnect(self, *, shard_id: int | None = None) -> None:
        """Send op 7 RECONNECT; discord.py reconnects and RESUMEs."""
        conn = self._live_conn(shard_id)
        await conn.ws.send_str(json.dumps({"op": 7, "d": None, "s": None, "t": None}))

    async def invalidate_session(self, resumable: bool = False, *, shard_id: int | None = None) -> None:
        """Send op 9 INVALID_SESSION; non-resumable makes the client IDENTIFY again."""
        conn = self._live_conn(shard_id)
        if not resumable:
            self._sessions = [s for s in self._sessions if s.conn is not conn]
        await conn.ws.send_str(json.dumps({"op": 9, "d": resumable, "s": None, "t": None}))

    async def drop_connection(self, code: int = 4000, *, shard_id: int | None = None) -> None:
        """Close the gateway socket abruptly; discord.py will try to RESUME."""
        conn = self._live_conn(shard_id)
        conn.closed_by_fake = True
        await conn.ws.close(code=code)

    # ------------------------------------------------------------------ recording

    def messages_in(self, channel_id: int, *, include_deleted: bool = False) -> list[JSON]:
        """Current state of every message in a channel, oldest first (user, bot, followups,
        ephemeral ones included; a deferred reply shows flags & 128 until edited)."""
        return [
            s.payload
            for s in self._messages.values()
            if s.channel_id == channel_id and (include_deleted or not s.deleted)
        ]

    def message(self, message_id: int) -> JSON:
        return self._messages[message_id].payload

    def message_versions(self, message_id: int) -> list[JSON]:
        """Every version of a message: as created, then after each edit."""
        return list(self._messages[message_id].versions)

    def is_deleted(self, message_id: int) -> bool:
        return self._messages[message_id].deleted

    def interaction_responses(self, interaction_id: int) -> FakeInteraction:
        return self._interactions[interaction_id]

    def attachment(self, attachment_id: int) -> FileSpec:
        return self._attachments[attachment_id][1]

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int = 429,
        json: Any | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` matching requests with an error instead of handling them.

        ``path_regex`` is searched in the path relative to /api/v10 (e.g. r"/channels/600/
        messages$"). Default bodies: 429 → retry_after 0.05 (discord.py sleeps and retries),
        413 → code 40005, 5xx → generic (discord.py retries after 1 s, 3 s, ...).
        """
        if json is None:
            if status == 429:
                json = {"message": "You are being rate limited.", "retry_after": 0.05, "global": False}
            elif status == 413:
                json = {"code": 40005, "message": "Request entity too large"}
            else:
                json = {"code": 0, "message": f"{status}: injected failure"}
        self._failures.append(_Failure(method.upper(), re.compile(path_regex), status, json, times))

    def clear_failures(self) -> None:
        """Forget the failures `fail_next` set up that have not happened yet."""
        self._failures.clear()

    async def wait_for(
        self,
        method: str,
        path_regex: str,
        predicate: Callable[[RestCall], bool] | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109 - test-facing API
        count: int = 1,
        *,
        since: int = 0,
    ) -> RestCall:
        """Wait until ``count`` answered calls match and return the count-th one.

        Counting starts at ``fake.calls[since]`` (take ``since=len(fake.calls)`` before an
        action to wait for calls it causes). Failed calls count too; filter on
        ``call.status`` in the predicate if that matters.
        """
        pattern = re.compile(path_regex)
        method = method.upper()

        def matches() -> list[RestCall]:
            return [
                c
                for c in self.calls[since:]
                if c.status
                and c.method == method
                and pattern.search(c.path)
                and (predicate is None or predicate(c))
            ]

        try:
            async with self._changed:
                await asyncio.wait_for(self._changed.wait_for(lambda: len(matches()) >= count), timeout)
        except TimeoutError:
            raise AssertionError(
                f"timed out after {timeout}s waiting for {count}x {method} {path_regex}; "
                f"calls:\n{self._dump_calls()}"
            ) from None
        return matches()[count - 1]

    def _dump_calls(self) -> str:
        return "\n".join(f"  {c}" for c in self.calls) or "  (none)"

    # ------------------------------------------------------------------ gateway server

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        conn = _Conn(len(self.gateway_connections), ws)
        self._conns.append(conn)
        self.gateway_connections.append(dict(request.query))
        try:
            await self._send_op(ws, 10, {"heartbeat_interval": self.heartbeat_interval_ms})
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                try:
                    frame = json.loads(msg.data)
                except ValueError:
                    log.warning("gateway: undecodable frame %r", msg.data[:200])
                    continue
                await self._on_frame(conn, frame)
        finally:
            self._conns.remove(conn)
            self._detach(conn)
        return ws

    def _detach(self, conn: _Conn) -> None:
        # A client closing with 1000/1001 ends its session, as on Discord; a socket lost any
        # other way leaves the session waiting for a RESUME, collecting events to replay.
        ended = not conn.closed_by_fake and conn.ws.close_code in (1000, 1001)
        for session in [s for s in self._sessions if s.conn is conn]:
            session.conn = None
            if ended:
                self._sessions.remove(session)

    async def _send_op(self, ws: web.WebSocketResponse, op: int, d: Any) -> None:
        await ws.send_str(json.dumps({"op": op, "d": d, "s": None, "t": None}))

    async def _on_frame(self, conn: _Conn, frame: JSON) -> None:
        op, d = frame.get("op"), frame.get("d")
        if op == 1:
            self.heartbeats += 1
            await self._send_op(conn.ws, 11, None)
        elif op == 2:
            await self._identify(conn, d or {})
        elif op == 6:
            await self._resume(conn, d or {})
        elif op == 8:
            await self._member_chunk(conn, d or {})
        elif op in (3, 4):
            pass  # presence / voice state: accepted, ignored
        else:
            log.warning("gateway: unhandled op %s", op)

    async def _refuse(self, conn: _Conn, code: int, reason: str) -> None:
        log.info("gateway: closing connection %s with %s %s", conn.id, code, reason)
        conn.closed_by_fake = True
        await conn.ws.close(code=code, message=reason.encode())

    def _shard_of(self, d: JSON) -> tuple[int, int] | None:
        """The [shard_id, shard_count] an IDENTIFY asks for; None when Discord would refuse it."""
        raw = d.get("shard", [0, 1])
        if not (isinstance(raw, list) and len(raw) == 2 and all(type(x) is int for x in raw)):
            return None
        shard_id, count = raw
        if not 0 <= shard_id < count:
            return None
        # Every live session must agree on the shard count (no resharding mid-flight here).
        if any(s.live and s.shard_count != count for s in self._sessions):
            return None
        return shard_id, count

    def _guilds_of(self, shard_id: int, shard_count: int) -> list[FakeGuild]:
        return [g for g in self.guilds.values() if shard_for_guild(g.id, shard_count) == shard_id]

    async def _identify(self, conn: _Conn, d: JSON) -> None:
        token = d.get("token")
        if self.expected_token is not None and token != self.expected_token:
            await self._refuse(conn, 4004, "Authentication failed.")
            return
        self.identify_payload = d
        self.identify_payloads.append(d)
        if any(s.conn is conn for s in self._sessions):
            await self._refuse(conn, CLOSE_ALREADY_AUTHENTICATED, "Already authenticated.")
            return
        shard = self._shard_of(d)
        if shard is None:
            await self._refuse(conn, CLOSE_INVALID_SHARD, "Invalid shard.")
            return
        shard_id, shard_count = shard
        if len(self._guilds_of(shard_id, shard_count)) > self.max_guilds_per_shard:
            await self._refuse(conn, CLOSE_SHARDING_REQUIRED, "Sharding required.")
            return
        self._ready.clear()
        self._identified = True
        session = _Session(secrets.token_hex(16), conn, shard_id, shard_count)
        async with self._send_lock:
            # World changes not yet sent belong to the sessions that already existed;
            # the new one sees them in its READY and GUILD_CREATEs.
            await self._flush_pending_locked()
            self._sessions.append(session)
            guilds = self._guilds_of(shard_id, shard_count)
            ready = {
                "v": 10,
                "user": {**self.bot.payload(), "verified": True, "mfa_enabled": False, "flags": 0},
                "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
                "session_id": session.id,
                "session_type": "normal",
                "resume_gateway_url": self.gateway_url,
                "shard": [shard_id, shard_count],
                "application": {"id": str(self.application_id), "flags": 0},
                "private_channels": [],
                "presences": [],
                "relationships": [],
                "user_settings": {},
                "guild_join_requests": [],
                "geo_ordered_rtc_regions": [],
            }
            await self._send_locked(session, "READY", ready)
            for guild in guilds:
                await self._send_locked(session, "GUILD_CREATE", guild.payload())
        session.ready = True
        self._ready.set()
        async with self._changed:
            self._changed.notify_all()

    async def _resume(self, conn: _Conn, d: JSON) -> None:
        session = next((s for s in self._sessions if s.id == d.get("session_id")), None)
        if session is None:
            await self._send_op(conn.ws, 9, False)
            return
        self.resumes += 1
        async with self._send_lock:
            await self._flush_pending_locked()
            session.conn = conn
            after = d.get("seq") or 0
            self._written = [w for w in self._written if w.session_id != session.id or w.seq <= after]
            for frame in session.frames:
                if frame["s"] > after:
                    await self._write(session, frame)
            await self._send_locked(session, "RESUMED", {})

    async def _member_chunk(self, conn: _Conn, d: JSON) -> None:
        session = next((s for s in self._sessions if s.conn is conn), None)
        if session is None:
            log.warning("gateway: REQUEST_GUILD_MEMBERS before IDENTIFY on connection %s", conn.id)
            return
        guild = self.guilds.get(int(d.get("guild_id", 0)))
        members = [] if guild is None else [guild.member_payload(u) for u in guild.members.values()]
        chunk = {
            "guild_id": str(d.get("guild_id")),
            "members": members,
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if d.get("nonce") is not None:
            chunk["nonce"] = d["nonce"]
        # The answer goes to the session that asked, not to every session on the guild's shard.
        async with self._send_lock:
            await self._flush_pending_locked()
            await self._send_locked(session, "GUILD_MEMBERS_CHUNK", chunk)

    async def _dispatch(self, event: str, data: JSON) -> None:
        async with self._send_lock:
            await self._flush_pending_locked()
            await self._dispatch_locked(event, data)

    async def _dispatch_locked(self, event: str, data: JSON) -> None:
        guild_id = _event_guild(event, data)
        targets = [s for s in self._sessions if s.receives(guild_id)]
        if not targets:
            log.debug("gateway: no session for %s (guild %s), dropping", event, guild_id)
        for session in targets:
            await self._send_locked(session, event, data)

    async def _send_locked(self, session: _Session, event: str, data: JSON) -> None:
        session.seq += 1
        frame = {"op": 0, "t": event, "s": session.seq, "d": data}
        session.frames.append(frame)
        await self._write(session, frame)

    async def _write(self, session: _Session, frame: JSON) -> None:
        conn = session.conn
        if conn is None or conn.ws.closed:
            return  # kept in frames; replayed on RESUME
        try:
            # A client that stopped reading (an old session during a restart) must not hold
            # the send lock, and with it every later event, for ever: Discord drops it too.
            async with asyncio.timeout(SEND_TIMEOUT):
                await conn.ws.send_str(json.dumps(frame))
        except TimeoutError:
            log.warning("gateway: connection %s stopped reading; closing it", conn.id)
            self._spawn(_close(conn.ws))
            return
        except (ConnectionError, RuntimeError):
            log.debug("gateway: send of %s failed; will replay on resume", frame["t"])
            return
        delivery = Delivery(frame["t"], session.shard_id, conn.id)
        self._written.append(_Written(delivery, frame["d"], session.id, frame["s"]))

    def _announce_soon(self, event: str, data: JSON) -> None:
        """Dispatch a change made by a synchronous setup call, ahead of any later event."""
        if not self._identified:
            return  # nobody connected yet: READY and GUILD_CREATE will carry it
        self._pending.append((event, data))
        self._spawn(self._flush_pending())

    async def _flush_pending(self) -> None:
        async with self._send_lock:
            await self._flush_pending_locked()

    async def _flush_pending_locked(self) -> None:
        while self._pending:
            event, data = self._pending.pop(0)
            await self._dispatch_locked(event, data)

    def _require_session(self) -> None:
        if not self._identified:
            raise RuntimeError("no discord.py client has identified yet; await fake.wait_ready()")

    def _live_conn(self, shard_id: int | None = None) -> _Conn:
        live = [s for s in self._sessions if s.live and (shard_id is None or s.shard_id == shard_id)]
        if not live or live[-1].conn is None:
            raise RuntimeError(f"no gateway connection (shard {shard_id})")
        return live[-1].conn

    def _spawn(self, coro: Awaitable[None]) -> None:
        async def run() -> None:
            await coro

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------ helpers: ids, objects

    def _snowflake(self) -> int:
        now = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        self._last_snowflake = max(now, self._last_snowflake + 1)
        return self._last_snowflake

    def _channel_for_event(self, channel_id: int, guild_id: int | None) -> FakeChannel:
        chan = self._channels.get(channel_id)
        if chan is None:
            raise KeyError(f"unknown channel {channel_id}; use add_guild() or dm_channel() first")
        if guild_id is not None and chan.guild_id != guild_id:
            raise ValueError(f"channel {channel_id} is not in guild {guild_id}")
        return chan

    def _new_thread(
        self,
        parent: FakeChannel,
        thread_id: int,
        name: str,
        thread_type: int,
        owner_id: int,
        *,
        auto_archive_duration: int = 1440,
    ) -> FakeThread:
        if parent.guild_id is None:
            raise ValueError(f"channel {parent.id} is not in a guild")
        thread = FakeThread(
            thread_id,
            name,
            thread_type,
            guild_id=parent.guild_id,
            parent_id=parent.id,
            owner_id=owner_id,
            bot_id=self.bot.id,
            auto_archive_duration=auto_archive_duration,
        )
        thread.member_ids[owner_id] = thread.created_at  # whoever starts a thread is in it
        self._channels[thread_id] = thread
        self.guilds[parent.guild_id].threads[thread_id] = thread
        return thread

    def _reopen(self, chan: FakeChannel) -> None:
        """Posting in an archived thread unarchives it, as on Discord; a locked one refuses."""
        if not isinstance(chan, FakeThread) or not chan.archived:
            return
        if chan.locked:
            raise ApiError(400, 50083, "Thread is archived")
        chan.archived = False
        chan.archive_timestamp = _iso_now()
        self._announce_soon("THREAD_UPDATE", chan.payload())

    def _find_command(self, name: str, guild_id: int | None) -> JSON | None:
        scopes: list[int | None] = [guild_id, None] if guild_id is not None else [None]
        for scope in scopes:
            for cmd in self.registered_commands.get(scope, []):
                if cmd["name"] == name and cmd.get("type", 1) == 1:
                    return cmd
        return None

    def _new_attachment(
        self,
        channel_id: int,
        filename: str,
        data: bytes,
        content_type: str | None,
        *,
        description: str | None = None,
        ephemeral: bool = False,
    ) -> JSON:
        aid = self._snowflake()
        ctype = _sniff_type(filename, data, content_type)
        self._attachments[aid] = (channel_id, (filename, data, ctype))
        url = f"{self.base_url}/attachments/{channel_id}/{aid}/{urllib.parse.quote(filename)}"
        att: JSON = {
            "id": str(aid),
            "filename": filename,
            "size": len(data),
            "url": url,
            "proxy_url": url + "?proxy=1",
            "content_type": ctype,
        }
        if ctype.startswith("image/") and (size := _image_size(data)) is not None:
            att["width"], att["height"] = size
        if description is not None:
            att["description"] = description
        if ephemeral:
            att["ephemeral"] = True
        return att

    def _attachments_for(
        self, channel_id: int, entries: list[JSON] | None, uploads: list[_Upload], keep: list[JSON]
    ) -> list[JSON]:
        """New attachment list: kept existing ones named in ``entries`` plus every upload."""
        by_index = {u.index: u for u in uploads}
        used: set[int] = set()
        result: list[JSON] = []
        kept = {a["id"]: a for a in keep}
        for entry in entries or []:
            key = str(entry.get("id"))
            if key in kept:
                result.append(kept[key])
                continue
            with contextlib.suppress(ValueError):
                upload = by_index.get(int(key))
                if upload is not None:
                    used.add(upload.index)
                    result.append(
                        self._new_attachment(
                            channel_id,
                            entry.get("filename") or upload.filename,
                            upload.data,
                            upload.content_type,
                            description=entry.get("description"),
                        )
                    )
        for upload in uploads:
            if upload.index not in used:
                result.append(
                    self._new_attachment(channel_id, upload.filename, upload.data, upload.content_type)
                )
        return result

    def _mentions(self, content: str) -> tuple[list[JSON], list[str], bool]:
        users: list[JSON] = []
        seen: set[int] = set()
        for raw in _MENTION_USER.findall(content):
            uid = int(raw)
            if uid in seen:
                continue
            seen.add(uid)
            users.append(self.users.get(uid, FakeUser(uid, f"user{uid}")).payload())
        roles = list(dict.fromkeys(_MENTION_ROLE.findall(content)))
        everyone = "@everyone" in content or "@here" in content
        return users, roles, everyone

    def _build_message(
        self,
        chan: FakeChannel,
        author: FakeUser,
        body: JSON,
        *,
        attachments: list[JSON],
        msg_type: int = 0,
        flags: int = 0,
        webhook: bool = False,
        interaction: FakeInteraction | None = None,
    ) -> JSON:
        content = body.get("content") or ""
        mentions, roles, everyone = self._mentions(content)
        msg: JSON = {
            "id": str(self._snowflake()),
            "channel_id": str(chan.id),
            "author": author.payload(),
            "content": content,
            "timestamp": _iso_now(),
            "edited_timestamp": None,
            "tts": bool(body.get("tts", False)),
            "mention_everyone": everyone,
            "mentions": mentions,
            "mention_roles": roles,
            "mention_channels": [],
            "attachments": attachments,
            "embeds": [{"type": "rich", **e} for e in body.get("embeds") or []],
            "reactions": [],
            "pinned": False,
            "type": msg_type,
            "flags": flags,
            "components": body.get("components") or [],
        }
        if body.get("nonce") is not None:
            msg["nonce"] = body["nonce"]
        ref = body.get("message_reference")
        if ref and ref.get("message_id") is not None:
            ref_id = int(ref["message_id"])
            target = self._messages.get(ref_id)
            if (target is None or target.deleted) and ref.get("fail_if_not_exists", True):
                raise _form_error("message_reference", "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message")
            msg["message_reference"] = {
                "type": 0,
                "message_id": str(ref_id),
                "channel_id": str(ref.get("channel_id") or chan.id),
                "guild_id": str(chan.guild_id) if chan.guild_id else None,
                "fail_if_not_exists": ref.get("fail_if_not_exists", True),
            }
            if target is not None and not target.deleted:
                referenced = dict(target.payload)
                referenced.pop("referenced_message", None)
                msg["referenced_message"] = referenced
            else:
                msg["referenced_message"] = None
            if msg_type == 0:
                msg["type"] = 19
        if webhook:
            msg["webhook_id"] = str(self.application_id)
            msg["application_id"] = str(self.application_id)
        if interaction is not None:
            meta: JSON = {
                "id": str(interaction.id),
                "type": interaction.type,
                "user": interaction.user.payload(),
                "authorizing_integration_owners": interaction.payload["authorizing_integration_owners"],
            }
            if interaction.type == 2:
                meta["name"] = interaction.name
            if interaction.message_id is not None:
                meta["interacted_message_id"] = str(interaction.message_id)
            if interaction.original_message_id is not None:
                meta["original_response_message_id"] = str(interaction.original_message_id)
            msg["interaction_metadata"] = meta
        return msg

    def _store(self, channel_id: int, msg: JSON) -> None:
        self._messages[int(msg["id"])] = _Stored(msg, channel_id, [msg])
        chan = self._channels.get(channel_id)
        if isinstance(chan, FakeThread):
            chan.message_count += 1
            chan.last_message_id = int(msg["id"])

    def _gateway_message(self, msg: JSON, author: FakeUser | None = None) -> JSON:
        """A stored message as MESSAGE_CREATE/UPDATE carries it: plus guild_id and member."""
        event = dict(msg)
        chan = self._channels.get(int(msg["channel_id"]))
        if chan is not None and chan.guild_id is not None:
            guild = self.guilds[chan.guild_id]
            event["guild_id"] = str(guild.id)
            user = author or self.users.get(int(msg["author"]["id"]))
            if user is not None and not msg.get("webhook_id"):
                event["member"] = guild.member_payload(user, with_user=False)
        return event

    async def _announce(self, event: str, msg: JSON) -> None:
        if not self.dispatch_own_messages or msg.get("flags", 0) & FLAG_EPHEMERAL:
            return
        if event == "MESSAGE_DELETE":
            data: JSON = {"id": msg["id"], "channel_id": msg["channel_id"]}
            chan = self._channels.get(int(msg["channel_id"]))
            if chan is not None and chan.guild_id is not None:
                data["guild_id"] = str(chan.guild_id)
            await self._dispatch(event, data)
        else:
            await self._dispatch(event, self._gateway_message(msg))

    async def _send_interaction(
        self,
        itype: int,
        chan: FakeChannel,
        user: FakeUser,
        data: JSON,
        *,
        name: str,
        message: JSON | None = None,
    ) -> FakeInteraction:
        self.users.setdefault(user.id, user)
        iid = self._snowflake()
        token = "aW50ZXJhY3Rpb24" + secrets.token_urlsafe(48)
        payload: JSON = {
            "id": str(iid),
            "application_id": str(self.application_id),
            "type": itype,
            "data": data,
            "token": token,
            "version": 1,
            "channel_id": str(chan.id),
            "channel": {**chan.payload(), "permissions": str(DEFAULT_PERMISSIONS)},
            "app_permissions": str(DEFAULT_PERMISSIONS),
            "locale": user.locale,
            "entitlements": [],
            "attachment_size_limit": self.upload_limit,
        }
        if chan.guild_id is not None:
            guild = self.guilds[chan.guild_id]
            member = guild.member_payload(user)
            member["permissions"] = str(DEFAULT_PERMISSIONS)
            payload.update(
                guild_id=str(guild.id),
                guild={"id": str(guild.id), "locale": "en-US", "features": []},
                guild_locale="en-US",
                member=member,
                context=0,
                authorizing_integration_owners={"0": str(guild.id)},
            )
        else:
            payload.update(user=user.payload(), context=1, authorizing_integration_owners={"0": "0"})
        if message is not None:
            payload["message"] = message
        inter = FakeInteraction(
            id=iid,
            token=token,
            type=itype,
            name=name,
            channel_id=chan.id,
            guild_id=chan.guild_id,
            user=user,
            payload=payload,
            sent_at=time.monotonic(),
            message_id=int(message["id"]) if message is not None else None,
            _fake=self,
        )
        self._interactions[iid] = inter
        self._by_token[token] = inter
        await self._dispatch("INTERACTION_CREATE", payload)
        return inter

    # ------------------------------------------------------------------ REST plumbing

    def _route_table(self) -> list[tuple[str, re.Pattern[str], Handler]]:
        snow = r"(\d+)"
        table: list[tuple[str, str, Handler]] = [
            ("GET", r"/gateway", self._h_gateway),
            ("GET", r"/gateway/bot", self._h_gateway_bot),
            ("GET", r"/users/@me", self._h_me),
            ("GET", rf"/users/{snow}", self._h_get_user),
            ("POST", r"/users/@me/channels", self._h_create_dm),
            ("GET", r"/oauth2/applications/@me", self._h_app_info),
            ("GET", r"/applications/@me", self._h_app_info),
            ("GET", rf"/applications/{snow}/commands", self._h_get_commands),
            ("PUT", rf"/applications/{snow}/commands", self._h_put_commands),
            ("GET", rf"/applications/{snow}/guilds/{snow}/commands", self._h_get_commands),
            ("PUT", rf"/applications/{snow}/guilds/{snow}/commands", self._h_put_commands),
            ("GET", rf"/channels/{snow}", self._h_get_channel),
            ("GET", rf"/channels/{snow}/messages", self._h_history),
            ("POST", rf"/channels/{snow}/messages", self._h_create_message),
            ("GET", rf"/channels/{snow}/messages/{snow}", self._h_get_message),
            ("PATCH", rf"/channels/{snow}/messages/{snow}", self._h_edit_message),
            ("DELETE", rf"/channels/{snow}/messages/{snow}", self._h_delete_message),
            ("POST", rf"/channels/{snow}/typing", self._h_typing),
            ("POST", rf"/channels/{snow}/threads", self._h_start_thread),
            ("POST", rf"/channels/{snow}/messages/{snow}/threads", self._h_start_thread_from_message),
            ("PUT", rf"/channels/{snow}/thread-members/@me", self._h_join_thread),
            ("DELETE", rf"/channels/{snow}/thread-members/@me", self._h_leave_thread),
            ("GET", rf"/guilds/{snow}/threads/active", self._h_active_threads),
            ("PUT", rf"/channels/{snow}/messages/{snow}/reactions/([^/]+)/@me", self._h_reaction),
            ("DELETE", rf"/channels/{snow}/messages/{snow}/reactions/([^/]+)/@me", self._h_reaction),
            ("POST", rf"/interactions/{snow}/([^/]+)/callback", self._h_callback),
            ("POST", rf"/webhooks/{snow}/([^/]+)", self._h_followup),
            ("GET", rf"/webhooks/{snow}/([^/]+)/messages/(@original|\d+)", self._h_webhook_get),
            ("PATCH", rf"/webhooks/{snow}/([^/]+)/messages/(@original|\d+)", self._h_webhook_edit),
            ("DELETE", rf"/webhooks/{snow}/([^/]+)/messages/(@original|\d+)", self._h_webhook_delete),
        ]
        return [(m, re.compile(p), h) for m, p, h in table]

    async def _read_body(self, request: web.Request) -> tuple[Any, list[_Upload]]:
        if request.content_type.startswith("multipart/"):
            body: Any = {}
            uploads: list[_Upload] = []
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if not isinstance(part, BodyPartReader):
                    continue
                data = bytes(await part.read(decode=False))
                if part.name == "payload_json":
                    body = json.loads(data)
                elif part.name and (m := _FILE_FIELD.fullmatch(part.name)):
                    fname = part.filename or f"file{m.group(1)}"
                    ctype = _sniff_type(fname, data, part.headers.get("Content-Type"))
                    uploads.append(_Upload(int(m.group(1)), fname, data, ctype))
            return body, uploads
        raw = await request.read()
        if not raw:
            return None, []
        try:
            return json.loads(raw), []
        except ValueError:
            raise ApiError(400, 50109, "The request body contains invalid JSON.") from None

    async def _api(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        body, uploads = await self._read_body(request)
        call = RestCall(
            method=request.method,
            path=path,
            json=body,
            files=[(u.filename, u.data, u.content_type) for u in uploads],
            query=dict(request.query),
            at=time.monotonic(),
        )
        self.calls.append(call)
        try:
            response = await self._answer(call, request, body, uploads)
        except ApiError as err:
            response = _json_response(err.body, err.status)
        except Exception:
            log.exception("fake discord: handler crashed for %s %s", call.method, call.path)
            response = _json_response({"code": 0, "message": "500: fake crashed"}, 500)
        call.status = response.status
        async with self._changed:
            self._changed.notify_all()
        return response

    async def _answer(
        self, call: RestCall, request: web.Request, body: Any, uploads: list[_Upload]
    ) -> web.StreamResponse:
        for failure in self._failures:
            if failure.method == call.method and failure.pattern.search(call.path):
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failures.remove(failure)
                # discord.py treats a 429 without Via as a Cloudflare ban and gives up.
                headers = {"Via": "1.1 google"}
                if failure.status == 429 and isinstance(failure.body, dict):
                    headers["Retry-After"] = str(failure.body.get("retry_after", 0))
                return _json_response(failure.body, failure.status, headers)

        if not call.path.startswith(("/webhooks/", "/interactions/")):
            auth = request.headers.get("Authorization", "")
            if not auth.startswith("Bot ") or (
                self.expected_token is not None and auth != f"Bot {self.expected_token}"
            ):
                raise ApiError(401, 0, "401: Unauthorized")

        if uploads and sum(len(u.data) for u in uploads) > self.upload_limit:
            raise ApiError(413, 40005, "Request entity too large")

        for method, pattern, handler in self._routes:
            if method == call.method and (m := pattern.fullmatch(call.path)):
                result = await handler(_Req(call, request, m.groups(), body or {}, uploads))
                if isinstance(result, web.StreamResponse):
                    return result
                if result is None:
                    return web.Response(status=204)
                return _json_response(result)
        log.warning("fake discord: no route for %s %s", call.method, call.path)
        raise ApiError(404, 0, "404: Not Found")

    async def _cdn(self, request: web.Request) -> web.StreamResponse:
        self.cdn_hits.append(request.path_qs)
        try:
            _, (_, data, ctype) = self._attachments[int(request.match_info["attachment"])]
        except (KeyError, ValueError):
            return web.Response(status=404, text="not found")
        return web.Response(body=data, content_type=ctype)

    # ------------------------------------------------------------------ validation

    def _validate(self, body: JSON, uploads: list[_Upload], *, require_something: bool) -> None:
        content = body.get("content")
        if content is not None and len(content) > MAX_CONTENT:
            raise _form_error("content", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_CONTENT} or fewer in length.")
        embeds = body.get("embeds") or []
        if len(embeds) > MAX_EMBEDS:
            raise _form_error("embeds", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_EMBEDS} or fewer in length.")
        if require_something and not (
            content
            or embeds
            or uploads
            or body.get("components")
            or body.get("sticker_ids")
            or body.get("poll")
        ):
            raise ApiError(400, 50006, "Cannot send an empty message")

    @staticmethod
    def _is_empty(msg: JSON) -> bool:
        return not (msg["content"] or msg["embeds"] or msg["attachments"] or msg["components"])

    # ------------------------------------------------------------------ message operations

    def _stored_in(self, channel_id: int, message_id: int) -> _Stored:
        stored = self._messages.get(message_id)
        if stored is None or stored.deleted or stored.channel_id != channel_id:
            raise _unknown_message()
        return stored

    async def _create_in_channel(
        self,
        chan: FakeChannel,
        body: JSON,
        uploads: list[_Upload],
        *,
        allowed_flags: int,
        msg_type: int = 0,
        extra_flags: int = 0,
        webhook: bool = False,
        interaction: FakeInteraction | None = None,
    ) -> JSON:
        self._validate(body, uploads, require_something=True)
        self._reopen(chan)
        atts = self._attachments_for(chan.id, body.get("attachments"), uploads, [])
        flags = (int(body.get("flags") or 0) & allowed_flags) | extra_flags
        msg = self._build_message(
            chan,
            self.bot,
            body,
            attachments=atts,
            msg_type=msg_type,
            flags=flags,
            webhook=webhook,
            interaction=interaction,
        )
        self._store(chan.id, msg)
        await self._announce("MESSAGE_CREATE", msg)
        return msg

    async def _edit(
        self, stored: _Stored, body: JSON, uploads: list[_Upload], *, clear_loading: bool = False
    ) -> JSON:
        if int(stored.payload["author"]["id"]) != self.bot.id:
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        self._validate(body, uploads, require_something=False)
        old = stored.payload
        new = dict(old)
        if "content" in body:
            new["content"] = body["content"] or ""
            new["mentions"], new["mention_roles"], new["mention_everyone"] = self._mentions(new["content"])
        if "embeds" in body:
            new["embeds"] = [{"type": "rich", **e} for e in body["embeds"] or []]
        if "components" in body:
            new["components"] = body["components"] or []
        if "attachments" in body or uploads:
            entries = body.get("attachments")
            if entries is None:  # no list given: existing attachments stay, uploads are added
                entries = [{"id": a["id"]} for a in old["attachments"]]
            new["attachments"] = self._attachments_for(
                stored.channel_id, entries, uploads, old["attachments"]
            )
        flags = int(old.get("flags", 0))
        if body.get("flags") is not None:
            editable = FLAG_SUPPRESS_EMBEDS | FLAG_COMPONENTS_V2
            flags = (flags & ~editable) | (int(body["flags"]) & editable)
        if clear_loading:
            flags &= ~FLAG_LOADING
        new["flags"] = flags
        if self._is_empty(new) and not new["flags"] & FLAG_LOADING:
            raise ApiError(400, 50006, "Cannot send an empty message")
        new["edited_timestamp"] = _iso_now()
        stored.payload = new
        stored.versions.append(new)
        await self._announce("MESSAGE_UPDATE", new)
        return new

    async def _delete(self, stored: _Stored) -> None:
        stored.deleted = True
        await self._announce("MESSAGE_DELETE", stored.payload)

    # ------------------------------------------------------------------ REST handlers

    async def _h_gateway(self, req: _Req) -> Any:
        return {"url": self.gateway_url}

    async def _h_gateway_bot(self, req: _Req) -> Any:
        total = 1000
        return {
            "url": self.gateway_url,
            "shards": self.recommended_shards,
            "session_start_limit": {
                "total": total,
                "remaining": max(0, total - len(self.identify_payloads)),
                "reset_after": 14400000,
                "max_concurrency": self.max_concurrency,
            },
        }

    async def _h_me(self, req: _Req) -> Any:
        return {**self.bot.payload(), "verified": True, "mfa_enabled": False, "flags": 0}

    async def _h_get_user(self, req: _Req) -> Any:
        user = self.users.get(int(req.args[0]))
        if user is None:
            raise ApiError(404, 10013, "Unknown User")
        return user.payload()

    async def _h_create_dm(self, req: _Req) -> Any:
        uid = int(req.body.get("recipient_id", 0))
        user = self.users.get(uid) or self.user(uid, f"user{uid}")
        return self.dm_channel(user).payload()

    async def _h_app_info(self, req: _Req) -> Any:
        owner = FakeUser(1, "owner")
        return {
            "id": str(self.application_id),
            "name": self.bot.name,
            "icon": None,
            "description": "",
            "summary": "",
            "rpc_origins": [],
            "bot_public": True,
            "bot_require_code_grant": False,
            "owner": owner.payload(),
            "team": None,
            "verify_key": "0" * 64,
            "flags": 0,
            "bot": self.bot.payload(),
            "redirect_uris": [],
            "interactions_endpoint_url": None,
        }

    def _check_app(self, app_id: str) -> None:
        if int(app_id) != self.application_id:
            raise ApiError(403, 50001, "Missing Access")

    async def _h_get_commands(self, req: _Req) -> Any:
        self._check_app(req.args[0])
        scope = int(req.args[1]) if len(req.args) > 1 else None
        return self.registered_commands.get(scope, [])

    async def _h_put_commands(self, req: _Req) -> Any:
        self._check_app(req.args[0])
        scope = int(req.args[1]) if len(req.args) > 1 else None
        if scope is not None and scope not in self.guilds:
            raise ApiError(403, 50001, "Missing Access")
        if not isinstance(req.call.json, list):
            raise _form_error("_root", "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        result: list[JSON] = []
        for index, cmd in enumerate(req.call.json):
            name = cmd.get("name", "")
            ctype = cmd.get("type", 1)
            if (ctype == 1 and not re.fullmatch(r"[-_\w]{1,32}", name)) or name != name.lower():
                raise _form_error(f"{index}.name", "APPLICATION_COMMAND_INVALID_NAME", "Invalid name")
            if ctype == 1 and not 1 <= len(cmd.get("description", "")) <= 100:
                raise _form_error(
                    f"{index}.description", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
                )
            seen_optional = False
            for opt in cmd.get("options", []):
                if opt.get("type") in (1, 2):
                    continue
                if not opt.get("required", False):
                    seen_optional = True
                elif seen_optional:
                    raise _form_error(
                        f"{index}.options",
                        "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                        "Required options must be placed before non-required options",
                    )
            key = (scope, name)
            cid = self._command_ids.setdefault(key, self._snowflake())
            out: JSON = {
                "id": str(cid),
                "application_id": str(self.application_id),
                "version": str(self._snowflake()),
                "type": ctype,
                "name": name,
                "description": cmd.get("description", ""),
                "options": cmd.get("options", []),
                "default_member_permissions": cmd.get("default_member_permissions"),
                "dm_permission": cmd.get("dm_permission", True),
                "nsfw": cmd.get("nsfw", False),
                "contexts": cmd.get("contexts"),
                "integration_types": cmd.get("integration_types", [0]),
                "name_localizations": cmd.get("name_localizations"),
                "description_localizations": cmd.get("description_localizations"),
            }
            if scope is not None:
                out["guild_id"] = str(scope)
            result.append(out)
        self.registered_commands[scope] = result
        return result

    def _known_channel(self, channel_id: str) -> FakeChannel:
        chan = self._channels.get(int(channel_id))
        if chan is None:
            raise _unknown_channel()
        return chan

    async def _h_get_channel(self, req: _Req) -> Any:
        return self._known_channel(req.args[0]).payload()

    async def _h_history(self, req: _Req) -> Any:
        chan = self._known_channel(req.args[0])
        q = req.call.query
        limit = max(1, min(100, int(q.get("limit", 50))))
        msgs = self.messages_in(chan.id)
        if "before" in q:
            msgs = [m for m in msgs if int(m["id"]) < int(q["before"])]
        if "after" in q:
            msgs = [m for m in msgs if int(m["id"]) > int(q["after"])][:limit]
            return list(reversed(msgs))
        return list(reversed(msgs[-limit:]))

    async def _h_create_message(self, req: _Req) -> Any:
        chan = self._known_channel(req.args[0])
        if chan.type in (2, 4):
            raise ApiError(400, 50008, "Cannot send messages in a non-text channel")
        allowed = FLAG_SUPPRESS_EMBEDS | FLAG_SUPPRESS_NOTIFICATIONS | FLAG_COMPONENTS_V2
        return await self._create_in_channel(chan, req.body, req.uploads, allowed_flags=allowed)

    async def _h_get_message(self, req: _Req) -> Any:
        return self._stored_in(int(req.args[0]), int(req.args[1])).payload

    async def _h_edit_message(self, req: _Req) -> Any:
        stored = self._stored_in(int(req.args[0]), int(req.args[1]))
        return await self._edit(stored, req.body, req.uploads)

    async def _h_delete_message(self, req: _Req) -> Any:
        await self._delete(self._stored_in(int(req.args[0]), int(req.args[1])))
        return None

    async def _h_typing(self, req: _Req) -> Any:
        self._known_channel(req.args[0])
        return None

    async def _h_reaction(self, req: _Req) -> Any:
        self._stored_in(int(req.args[0]), int(req.args[1]))
        return None

    # ------------------------------------------------------------------ threads

    def _thread_parent(self, channel_id: str) -> FakeChannel:
        parent = self._known_channel(channel_id)
        if parent.guild_id is None or parent.type not in (0, 5):
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        return parent

    def _known_thread(self, channel_id: str) -> FakeThread:
        chan = self._known_channel(channel_id)
        if not isinstance(chan, FakeThread):
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        return chan

    @staticmethod
    def _thread_settings(body: JSON) -> tuple[str, int]:
        name = body.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            raise _form_error("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        minutes = int(body.get("auto_archive_duration") or 1440)
        if minutes not in AUTO_ARCHIVE_MINUTES:
            raise _form_error(
                "auto_archive_duration", "BASE_TYPE_CHOICES", f"Value must be one of {AUTO_ARCHIVE_MINUTES}."
            )
        return name, minutes

    async def _h_start_thread(self, req: _Req) -> Any:
        parent = self._thread_parent(req.args[0])
        name, minutes = self._thread_settings(req.body)
        thread_type = int(req.body.get("type") or 12)  # Discord's default: private
        if thread_type not in THREAD_TYPES or (thread_type == 10) != (parent.type == 5):
            raise _form_error("type", "BASE_TYPE_CHOICES", f"Invalid thread type {thread_type} here.")
        thread = self._new_thread(
            parent, self._snowflake(), name, thread_type, self.bot.id, auto_archive_duration=minutes
        )
        await self._dispatch("THREAD_CREATE", {**thread.payload(), "newly_created": True})
        return thread.payload()

    async def _h_start_thread_from_message(self, req: _Req) -> Any:
        parent = self._thread_parent(req.args[0])
        stored = self._stored_in(parent.id, int(req.args[1]))
        if int(req.args[1]) in self._channels:
            raise ApiError(400, 160004, "A thread has already been created for this message")
        name, minutes = self._thread_settings(req.body)
        # A thread started from a message shares the message's id.
        thread_type = 10 if parent.type == 5 else 11
        thread = self._new_thread(
            parent, int(req.args[1]), name, thread_type, self.bot.id, auto_archive_duration=minutes
        )
        stored.payload = {**stored.payload, "thread": thread.payload()}  # not an edit: no new version
        await self._dispatch("THREAD_CREATE", {**thread.payload(), "newly_created": True})
        return thread.payload()

    async def _h_join_thread(self, req: _Req) -> Any:
        thread = self._known_thread(req.args[0])
        if thread.archived:
            raise ApiError(400, 50083, "Thread is archived")
        thread.member_ids.setdefault(self.bot.id, _iso_now())
        return None

    async def _h_leave_thread(self, req: _Req) -> Any:
        self._known_thread(req.args[0]).member_ids.pop(self.bot.id, None)
        return None

    async def _h_active_threads(self, req: _Req) -> Any:
        guild = self.guilds.get(int(req.args[0]))
        if guild is None:
            raise ApiError(404, 10004, "Unknown Guild")
        threads = [t.payload() for t in guild.threads.values() if not t.archived]
        return {"threads": threads, "members": [t["member"] for t in threads if "member" in t]}

    # ------------------------------------------------------------------ interactions

    async def _h_callback(self, req: _Req) -> Any:
        inter = self._interactions.get(int(req.args[0]))
        if inter is None or inter.token != req.args[1]:
            raise _unknown_interaction()
        if inter.acknowledged:
            raise ApiError(400, 40060, "Interaction has already been acknowledged")
        if time.monotonic() - inter.sent_at > self.interaction_deadline:
            raise _unknown_interaction()
        body: JSON = req.body
        cb_type = int(body.get("type", 0))
        data: JSON = body.get("data") or {}
        chan = self._channels[inter.channel_id]
        msg: JSON | None = None
        allowed = FLAG_EPHEMERAL | FLAG_SUPPRESS_EMBEDS | FLAG_SUPPRESS_NOTIFICATIONS | FLAG_COMPONENTS_V2
        msg_type = 20 if inter.type == 2 else 0
        if cb_type == 4:
            msg = await self._create_in_channel(
                chan,
                data,
                req.uploads,
                allowed_flags=allowed,
                msg_type=msg_type,
                webhook=True,
                interaction=inter,
            )
            inter.original_message_id = int(msg["id"])
        elif cb_type == 5:
            # The "<bot> is thinking…" placeholder; the first @original edit fills it in.
            placeholder = self._build_message(
                chan,
                self.bot,
                {},
                attachments=[],
                msg_type=msg_type,
                flags=FLAG_LOADING | (int(data.get("flags") or 0) & FLAG_EPHEMERAL),
                webhook=True,
                interaction=inter,
            )
            self._store(chan.id, placeholder)
            await self._announce("MESSAGE_CREATE", placeholder)
            inter.original_message_id = int(placeholder["id"])
        elif cb_type in (6, 7):
            if inter.message_id is None:
                raise _form_error("type", "INTERACTION_RESPONSE_TYPE_INVALID", "Invalid response type")
            inter.original_message_id = inter.message_id
            if cb_type == 7:
                msg = await self._edit(self._messages[inter.message_id], data, req.uploads)
        elif cb_type == 9:
            self._check_modal(inter, data)
        elif cb_type not in (1, 8, 10, 12):
            raise _form_error("type", "BASE_TYPE_CHOICES", f"Value must be one of ... (got {cb_type})")

        inter.callback_type = cb_type
        inter.callback_data = data
        inter.acknowledged_at = time.monotonic()
        inter.events.append(InteractionEvent("callback", inter.original_message_id, body, time.monotonic()))
        if req.call.query.get("with_response") not in ("1", "true", "True"):
            return None
        info: JSON = {"id": str(inter.id), "type": inter.type}
        if inter.original_message_id is not None and cb_type in (4, 5):
            info["response_message_id"] = str(inter.original_message_id)
            info["response_message_loading"] = cb_type == 5
            flags = self._messages[inter.original_message_id].payload["flags"]
            info["response_message_ephemeral"] = bool(flags & FLAG_EPHEMERAL)
        resource: JSON = {"type": cb_type}
        if msg is not None:
            resource["message"] = msg
        return {"interaction": info, "resource": resource}

    @staticmethod
    def _check_modal(inter: FakeInteraction, data: JSON) -> None:
        """A modal answers a command or a component, never another modal; it needs a custom_id,
        a title of at most 45 characters and one to five rows holding a text input each."""
        if inter.type == 5:
            raise ApiError(400, 50035, "Invalid Form Body: a modal cannot open a modal")
        title, custom_id = data.get("title"), data.get("custom_id")
        if not isinstance(title, str) or not 1 <= len(title) <= 45:
            raise _form_error("data.title", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 45 in length.")
        if not isinstance(custom_id, str) or not 1 <= len(custom_id) <= 100:
            raise _form_error(
                "data.custom_id", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
            )
        rows = data.get("components") or []
        inputs = [c for c in _walk_components(rows) if c.get("type") == 4]
        if not 1 <= len(rows) <= 5 or len(inputs) != len(rows):
            raise _form_error(
                "data.components", "BASE_TYPE_BAD_LENGTH", "One text input per row, 1 to 5 rows."
            )
        for field_ in inputs:
            label = field_.get("label")
            if not isinstance(label, str) or not 1 <= len(label) <= 45 or field_.get("style") not in (1, 2):
                raise _form_error(
                    "data.components", "BASE_TYPE_BAD_LENGTH", "A text input needs a label and style."
                )

    def _webhook_interaction(self, app_id: str, token: str) -> FakeInteraction:
        inter = self._by_token.get(token)
        if int(app_id) != self.application_id or inter is None:
            raise _unknown_webhook()
        return inter

    def _webhook_target(self, inter: FakeInteraction, which: str) -> _Stored:
        if which == "@original":
            if inter.original_message_id is None:
                raise _unknown_message()
            mid = inter.original_message_id
        else:
            mid = int(which)
            if mid not in inter.followup_ids and mid != inter.original_message_id:
                raise _unknown_message()
        stored = self._messages.get(mid)
        if stored is None or stored.deleted:
            raise _unknown_message()
        return stored

    async def _h_followup(self, req: _Req) -> Any:
        inter = self._webhook_interaction(req.args[0], req.args[1])
        if not inter.acknowledged:
            raise _unknown_webhook()  # follow-ups need an initial response first
        chan = self._channels[inter.channel_id]
        allowed = FLAG_EPHEMERAL | FLAG_SUPPRESS_EMBEDS | FLAG_SUPPRESS_NOTIFICATIONS | FLAG_COMPONENTS_V2
        msg = await self._create_in_channel(
            chan, req.body, req.uploads, allowed_flags=allowed, webhook=True, interaction=inter
        )
        inter.followup_ids.append(int(msg["id"]))
        inter.events.append(InteractionEvent("followup", int(msg["id"]), req.body, time.monotonic()))
        if req.call.query.get("wait") in ("1", "true", "True"):
            return msg
        return None

    async def _h_webhook_get(self, req: _Req) -> Any:
        inter = self._webhook_interaction(req.args[0], req.args[1])
        return self._webhook_target(inter, req.args[2]).payload

    async def _h_webhook_edit(self, req: _Req) -> Any:
        inter = self._webhook_interaction(req.args[0], req.args[1])
        stored = self._webhook_target(inter, req.args[2])
        msg = await self._edit(stored, req.body, req.uploads, clear_loading=True)
        inter.events.append(InteractionEvent("edit", int(msg["id"]), req.body, time.monotonic()))
        return msg

    async def _h_webhook_delete(self, req: _Req) -> Any:
        inter = self._webhook_interaction(req.args[0], req.args[1])
        stored = self._webhook_target(inter, req.args[2])
        await self._delete(stored)
        inter.events.append(InteractionEvent("delete", int(stored.payload["id"]), None, time.monotonic()))
        return None


async def _close(ws: web.WebSocketResponse) -> None:
    await ws.close(code=4000)

"""The Discord platform: a discord.py client that feeds the core and a Messenger for later replies.

Every incoming message, slash command and button press runs `Core.handle` in its own
task, so slow work never holds up the gateway. Slash commands and button presses are
acknowledged (deferred) first, well within Discord's three seconds.

Test seam: when `DISCORD_API_URL` is set, discord.py's REST calls go to
`{DISCORD_API_URL}/api/v10` (`discord.http.Route.BASE`) and the websocket gateway is
the one that server announces at `GET /gateway/bot`. Both are process-wide settings of
discord.py, so every Discord client in the process talks to that server.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Coroutine
from typing import Any

import discord
import yarl
from discord import app_commands
from discord.gateway import DiscordWebSocket

from bot.config import Settings
from bot.coordination.leadership import Leadership
from bot.core import Core
from bot.i18n import Tr, t
from bot.lifecycle.inbound import Inbound
from bot.model import ChatAddress, Incoming, Messenger, Receipt
from bot.observability.metrics import Metrics
from bot.router import ASK_PREFIX, split_command
from bot.tasks import TaskSet
from storage import InboundUpdate

from .commands import Options, add_to_tree, build_commands, register
from .journal import (
    age_of,
    answer_entry,
    button_entry,
    command_entry,
    incoming_from_entry,
    message_entry,
)
from .locales import CatalogTranslator
from .outbox import INTERACTION_TOKEN_LIFETIME, NO_PINGS, ChannelLink, DiscordOutbox, StreamPacing
from .translate import (
    PLATFORM,
    echo_of,
    in_guild,
    incoming_from_answer,
    incoming_from_button,
    incoming_from_command,
    incoming_from_message,
    replied_message,
)
from .views import pressed_button, prompt_dialog, submitted_answer

log = logging.getLogger(__name__)

READY_TIMEOUT = 15.0  # a send before login waits this long, then fails
RESTARTING = t("⏳ I'm restarting — please try again in a minute.")
COMMAND_SYNC = "discord-command-sync"
_CHAT_MESSAGES = (discord.MessageType.default, discord.MessageType.reply)


def use_api(api_url: str | None) -> None:
    """The documented seam: point discord.py's REST client at another server (tests, proxies)."""
    if api_url:
        discord.http.Route.BASE = f"{api_url.rstrip('/')}/api/v10"


def intents() -> discord.Intents:
    chosen = discord.Intents.none()
    chosen.guilds = True
    chosen.guild_messages = True
    chosen.dm_messages = True
    chosen.message_content = True  # privileged: enable it in the developer portal
    return chosen


class DiscordMessenger:
    """Reaches any channel by id alone: what the Midjourney tracker needs after a restart."""

    platform = PLATFORM

    def __init__(self, link: ChannelLink) -> None:
        self._link = link

    def outbox_for(self, address: ChatAddress, reply_to: str | None) -> DiscordOutbox:
        return DiscordOutbox(self._link, address, reply_to)


class _Events(discord.Client):
    """discord.py's client with its events forwarded to the platform."""

    _platform: DiscordPlatform
    tree: app_commands.CommandTree[discord.Client]

    async def setup_hook(self) -> None:
        await self._platform._after_login()

    async def close(self) -> None:
        # discord.py 2.7 keeps its "wait for more guilds, then fire on_ready" task alive past
        # close(); a client stopped within `guild_ready_timeout` (2 s) of connecting would
        # have it fail later on a closed client ("Task exception was never retrieved").
        ready_task = getattr(self._connection, "_ready_task", None)
        if isinstance(ready_task, asyncio.Task):
            ready_task.cancel()
        await super().close()

    async def on_ready(self) -> None:
        log.info(
            "discord: connected as %s (%s) in %d servers",
            self.user,
            getattr(self.user, "id", "?"),
            len(self.guilds),
        )

    async def on_message(self, message: discord.Message) -> None:
        self._platform._on_message(message)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        self._platform._on_interaction(interaction)


class _Client(_Events):
    def __init__(self, platform: DiscordPlatform) -> None:
        super().__init__(intents=intents(), allowed_mentions=NO_PINGS)
        self.tree = app_commands.CommandTree(self)
        self._platform = platform


class _ShardedClient(_Events, discord.AutoShardedClient):
    """DISCORD_SHARD_COUNT / DISCORD_SHARD_IDS: this replica runs only its shards' guilds."""

    def __init__(self, platform: DiscordPlatform, shard_count: int, shard_ids: list[int]) -> None:
        # No ids: every shard of the count runs here.
        super().__init__(
            intents=intents(),
            allowed_mentions=NO_PINGS,
            shard_count=shard_count,
            shard_ids=shard_ids or list(range(shard_count)),
        )
        self.tree = app_commands.CommandTree(self)
        self._platform = platform


# Journal ids of messages; interactions are journaled by their own (numeric) ids.
MESSAGE_ENTRY = "m"


def _for_the_bot(incoming: Incoming) -> bool:
    """Addressed to the bot, or a command typed as text: what the router acts on."""
    return incoming.addressed or split_command(incoming.text.strip()) is not None


class DiscordPlatform:
    def __init__(
        self, settings: Settings, core: Core, inbound: Inbound, *, leadership: Leadership, metrics: Metrics
    ) -> None:
        assert settings.discord_bot_token is not None  # built only when the token is set
        self._settings = settings
        self._core = core
        self._inbound = inbound
        self._leadership = leadership
        # Set at shutdown: newcomers are told to come back, running work gets its grace.
        self._draining = False
        self._logged_in = asyncio.Event()
        self._tasks = TaskSet("discord")
        # How streamed answers are paced; read for every reply, so tests may change it.
        self.pacing = StreamPacing(
            interval=settings.discord_stream_interval, first_delay=settings.stream_group_first_delay
        )
        self._client: _Events = (
            _ShardedClient(self, settings.discord_shard_count, list(settings.discord_shard_ids))
            if settings.discord_shard_count
            else _Client(self)
        )
        add_to_tree(self._client.tree, build_commands(self._on_command), settings.discord_guild_ids)
        self._link = ChannelLink(
            channel=self._client.get_partial_messageable,
            upload_limit=self._upload_limit,
            ready=self._wait_logged_in,
            count_error=lambda status: metrics.platform_error("dc", status),
        )
        self.messenger: Messenger = DiscordMessenger(self._link)

    @property
    def client(self) -> discord.Client:
        return self._client

    async def close(self) -> None:
        """Nothing left: the client closed in `run`, and a closed discord.py client reopens nothing."""

    async def run(self) -> None:
        """Serve until cancelled; then drain: newcomers are told we restart, running work finishes."""
        assert self._settings.discord_bot_token is not None
        use_api(self._settings.discord_api_url)
        async with self._client:
            connection = asyncio.create_task(
                self._client.start(self._settings.discord_bot_token.get_secret_value()),
                name="discord gateway",
            )
            try:
                await asyncio.shield(connection)
            finally:
                # Still connected while draining: the same grace as Telegram, and newcomers hear why.
                self._draining = True
                await self._tasks.drain(self._settings.shutdown_grace)
                connection.cancel()
                await asyncio.gather(connection, return_exceptions=True)
                log.info("discord: stopped")

    async def _after_login(self) -> None:
        if self._settings.discord_api_url:
            # discord.py dials its built-in gateway unless told otherwise; ask the server.
            _, url, _ = await self._client.http.get_bot_gateway()
            DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)
        self._logged_in.set()
        # In the background: a rate-limited sync must not hold off connecting to the gateway.
        self._spawn(self._register_commands(), "slash command registration")

    @property
    def connected(self) -> bool:
        return self._client.is_ready() and not self._draining

    async def _register_commands(self) -> None:
        # Every replica starts the same way; one uploads the commands. The role is not
        # renewed: it lapses after a while, so a later rollout syncs again.
        if not await self._leadership.try_hold(COMMAND_SYNC):
            log.info("discord: another replica registers the slash commands")
            return
        try:
            await self._client.tree.set_translator(CatalogTranslator(self._core.deps.languages.catalog))
            await register(self._client.tree, self._settings.discord_guild_ids)
        except discord.HTTPException as exc:
            # Messages still work without slash commands; the owner must see this.
            log.error("discord: could not register slash commands: %s %s", exc.status, exc.text)

    async def _wait_logged_in(self) -> None:
        async with asyncio.timeout(READY_TIMEOUT):  # not wait_for: it can lose a cancellation on 3.11
            await self._logged_in.wait()

    def _upload_limit(self, channel_id: int) -> int:
        channel = self._client.get_channel(channel_id)
        guild = getattr(channel, "guild", None)
        if isinstance(guild, discord.Guild):
            return guild.filesize_limit
        return discord.utils.DEFAULT_FILE_SIZE_LIMIT_BYTES

    # --- events (called on the gateway's task: never await slow work here) ---

    def _on_message(self, message: discord.Message) -> None:
        if message.author.bot or message.webhook_id is not None or message.type not in _CHAT_MESSAGES:
            return
        what = f"message {message.id} in channel {message.channel.id}"
        if self._draining:
            self._spawn(self._restarting_message(message), what)
            return
        self._spawn(self._handle_message(message), what)

    def _on_interaction(self, interaction: discord.Interaction) -> None:
        answer = submitted_answer(interaction)
        custom_id = pressed_button(interaction) if answer is None else answer[0]
        if custom_id is None:
            return
        what = f"button {custom_id!r} in channel {interaction.channel_id}"
        if self._draining:
            self._spawn(self._restarting_interaction(interaction), what)
        elif answer is not None:
            self._spawn(self._handle_answer(interaction, *answer), f"answer to {custom_id!r}")
        elif custom_id.startswith(f"{ASK_PREFIX}:"):
            # Only the first response to the press can open a dialog: nothing may come before it.
            self._spawn(self._open_dialog(interaction, custom_id), what)
        else:
            self._spawn(self._handle_button(interaction, custom_id), what)

    async def _on_command(
        self,
        interaction: discord.Interaction,
        name: str,
        options: Options,
        attachments: list[discord.Attachment],
    ) -> None:
        what = f"/{name} in channel {interaction.channel_id}"
        if self._draining:
            self._spawn(self._restarting_interaction(interaction), what)
            return
        self._spawn(self._handle_command(interaction, name, options, attachments), what)

    # --- handling (each in its own task) ---

    async def _handle_message(self, message: discord.Message) -> None:
        me = self._client.user
        if me is None:
            return
        replied = await self._replied(message)
        reply_to_bot = replied is not None and replied.author.id == me.id
        incoming = incoming_from_message(message, me.id, reply_to_bot=reply_to_bot, replied=replied)
        if not _for_the_bot(incoming):  # group chatter: the router ignores it, nothing to keep
            await self._answer(incoming, incoming.message_id)
            return
        # Journaled before it is handled, as interactions are: a crash or a stop cut short
        # leaves it to the next start, which answers it in its channel.
        update_id = f"{MESSAGE_ENTRY}{message.id}"
        if not await self._inbound.accept(PLATFORM, update_id, message_entry(message, incoming)):
            return
        receipt = Receipt(PLATFORM, (update_id,))
        try:
            await self._answer(dataclasses.replace(incoming, receipt=receipt), incoming.message_id)
        finally:
            await self._inbound.settle(receipt)

    async def _restarting_message(self, message: discord.Message) -> None:
        me = self._client.user
        if me is None:
            return
        incoming = incoming_from_message(message, me.id, reply_to_bot=False)
        if incoming.is_private or incoming.mentioned:
            outbox = DiscordOutbox(self._link, incoming.address, incoming.message_id, pacing=self.pacing)
            await outbox.send_text(self._core.deps.languages.platform_tr(incoming)(RESTARTING))

    def _client_tr(self, interaction: discord.Interaction) -> Tr:
        """The language of the person's Discord client, for answers that cannot wait for `/lang`."""
        return Tr.of_app(self._core.deps.languages.catalog, interaction.locale.value)

    async def _restarting_interaction(self, interaction: discord.Interaction) -> None:
        try:
            await interaction.response.send_message(self._client_tr(interaction)(RESTARTING), ephemeral=True)
        except discord.HTTPException as exc:
            log.info("could not tell a newcomer we are restarting: %s", exc.status)

    async def _replied(self, message: discord.Message) -> discord.Message | None:
        """The message this one replies to, in a server (in DMs every message is for the bot)."""
        reference = message.reference
        if reference is None or reference.message_id is None or not in_guild(message):
            return None
        if reference.type is not discord.MessageReferenceType.reply:
            return None
        replied = replied_message(message)
        if replied is None:
            try:  # Discord left it out: whether it is ours, and its words, decide the answer.
                replied = await message.channel.fetch_message(reference.message_id)
            except discord.HTTPException:
                return None
        return replied

    async def _handle_command(
        self,
        interaction: discord.Interaction,
        name: str,
        options: Options,
        attachments: list[discord.Attachment],
    ) -> None:
        update_id = str(interaction.id)
        if not await self._inbound.accept(
            PLATFORM, update_id, command_entry(interaction, name, options, attachments)
        ):
            return
        receipt = Receipt(PLATFORM, (update_id,))
        try:
            try:
                await interaction.response.defer(thinking=True)
            except discord.HTTPException as exc:
                log.warning("could not acknowledge /%s in %s: %s", name, interaction.channel_id, exc.status)
            # The deferred reply shows what was asked; the answers follow as replies to it, as
            # ordinary channel messages that stay editable after the interaction token expires.
            message_id: str | None = None
            try:
                if interaction.response.is_done():  # else Discord has forgotten the interaction
                    # Before the stored `/lang` is read: in the language of the asker's client.
                    tr = self._client_tr(interaction)
                    echo = await interaction.edit_original_response(
                        content=echo_of(name, options, attachments, tr), allowed_mentions=NO_PINGS
                    )
                    message_id = str(echo.id)
            except discord.HTTPException as exc:
                log.warning("could not finish /%s in %s: %s", name, interaction.channel_id, exc.status)
            incoming = incoming_from_command(
                interaction, name, options, attachments, message_id=message_id, receipt=receipt
            )
            await self._answer(incoming, message_id, interaction)
        finally:
            await self._inbound.settle(receipt)

    async def _handle_button(self, interaction: discord.Interaction, custom_id: str) -> None:
        update_id = str(interaction.id)
        if not await self._inbound.accept(PLATFORM, update_id, button_entry(interaction, custom_id)):
            return
        receipt = Receipt(PLATFORM, (update_id,))
        try:
            try:
                await interaction.response.defer()  # no visible change; results follow as messages
            except discord.HTTPException as exc:
                log.warning("could not acknowledge a button in %s: %s", interaction.channel_id, exc.status)
            incoming = incoming_from_button(interaction, custom_id, receipt=receipt)
            await self._answer(incoming, incoming.message_id, interaction)
        finally:
            await self._inbound.settle(receipt)

    async def _open_dialog(self, interaction: discord.Interaction, custom_id: str) -> None:
        try:
            # The first response to the press, at once: in the language of the presser's app.
            await interaction.response.send_modal(prompt_dialog(custom_id, self._client_tr(interaction)))
        except discord.HTTPException as exc:
            log.warning("could not open the prompt dialog in %s: %s", interaction.channel_id, exc.status)

    async def _handle_answer(self, interaction: discord.Interaction, custom_id: str, text: str) -> None:
        """A submitted prompt dialog: journaled and acknowledged like a button, then the core runs it."""
        update_id = str(interaction.id)
        request_id = custom_id.partition(":")[2]
        if not await self._inbound.accept(PLATFORM, update_id, answer_entry(interaction, request_id, text)):
            return
        receipt = Receipt(PLATFORM, (update_id,))
        try:
            try:
                await interaction.response.defer()
            except discord.HTTPException as exc:
                log.warning("could not acknowledge a prompt in %s: %s", interaction.channel_id, exc.status)
            incoming = incoming_from_answer(interaction, request_id, text, receipt=receipt)
            await self._answer(incoming, incoming.message_id, interaction)
        finally:
            await self._inbound.settle(receipt)

    async def replay(self, update: InboundUpdate) -> None:
        """An interaction a gone instance accepted but never finished: answered while it may be."""
        receipt = Receipt(PLATFORM, (update.update_id,), replayed=True)
        try:
            # Recovery's first round can come before login; files are fetched with its client.
            await self._wait_logged_in()
            message = update.update_id.startswith(MESSAGE_ENTRY)  # answered in its channel, any time
            age = age_of(update.payload, discord.utils.utcnow())
            if not message and age > INTERACTION_TOKEN_LIFETIME:
                log.info("interaction %s is %d s old: too late to answer", update.update_id, age)
                return
            incoming = incoming_from_entry(receipt, update.payload, self._client.http.get_from_cdn)
            await self._answer(incoming, incoming.message_id if message else None)
        finally:
            await self._inbound.settle(receipt)

    async def _answer(
        self, incoming: Incoming, reply_to: str | None, interaction: discord.Interaction | None = None
    ) -> None:
        outbox = DiscordOutbox(
            self._link,
            incoming.address,
            reply_to,
            interaction=interaction,
            pacing=self.pacing,
            tr=self._core.deps.languages.platform_tr(incoming),
        )
        await self._core.handle(incoming, outbox)

    # --- the error boundary ---

    def _spawn(self, work: Coroutine[Any, Any, None], what: str) -> None:
        self._tasks.spawn(work, what)

"""The platform-neutral entry point: route a message, admit it, run its handler, never crash.

Every command is paired with its handler in one `match` over the `Command` union
(`assert_never` makes a command without a handler a type error), and each handler is
handed exactly the collaborators it names. Failures become one short reply: the
message of a `Reply` error, or a generic apology for anything unexpected (logged).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import assert_never

from bot import commands as c
from bot.admission.access import Access
from bot.admission.admission import Admission, Permit
from bot.admission.permissions import Permissions
from bot.config import Settings
from bot.errors import BudgetExceeded, GatewayError, Reply, Silent
from bot.gateway.client import GatewayClient
from bot.handlers import admin, conversation, help, midjourney, pictures, settings, usage
from bot.lifecycle.jobs import JobKeys
from bot.model import Incoming, Outbox
from bot.observability.metrics import Metrics
from bot.router import Limits, route
from bot.usage.budgets import Budgets
from bot.usage.estimates import Work
from bot.usage.pricing import PriceTable
from bot.usecases.caption import Classifier
from bot.usecases.chat import ChatTurns
from bot.usecases.chats import Chats
from bot.usecases.context import Request
from bot.usecases.images import Images
from bot.usecases.midjourney import Midjourney
from storage import Database

log = logging.getLogger(__name__)

SOMETHING_WENT_WRONG = "⚠️ Something went wrong on my side. Please try again."
INTERRUPTED = "⚠️ I was restarted before I could finish this. Please send it again in a minute."


@dataclass(frozen=True)
class Deps:
    """What the handlers may be handed; built once by `bot.app`."""

    settings: Settings
    db: Database
    gateway: GatewayClient
    prices: PriceTable
    chats: Chats
    access: Access
    permissions: Permissions
    admission: Admission
    budgets: Budgets
    turns: ChatTurns
    classifier: Classifier
    images: Images
    midjourney: Midjourney
    metrics: Metrics


class Core:
    """What every adapter calls with a normalized message and an outbox to answer in."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self._limits = Limits(
            max_prompt_chars=deps.settings.max_prompt_chars, max_images=deps.settings.max_album_images
        )

    async def handle(self, msg: Incoming, out: Outbox) -> None:
        command = route(msg, self._limits)
        if isinstance(command, c.Ignore):
            return
        name = type(command).__name__
        log.info("%s from %s in %s", name, msg.user.id, msg.address.key)
        keys = JobKeys(msg.source)
        try:
            chat = await self.deps.chats.open(msg.address)
            req = Request(msg, out, chat, keys)
            work = command if isinstance(command, Work) else None
            # Access, rate, job caps and budgets first: a refused request calls nothing.
            with self.deps.metrics.time_handler(command):
                async with self.deps.admission.admit(msg, work, chat_model=chat.model) as permit:
                    await self._dispatch(command, req, permit)
        except Silent:
            log.info("%s in %s ignored (refused before)", name, msg.address.key)
        except GatewayError as exc:
            log.warning(
                "gateway failure for %s in %s: %s (status %s, request id %s)",
                name,
                msg.address.key,
                exc.detail,
                exc.status,
                exc.request_id,
            )
            await _say(out, "⚠️ " + exc.user_message)
        except Reply as exc:
            if isinstance(exc, BudgetExceeded):
                self.deps.metrics.budget_refused()
            log.info("refused %s in %s: %s", name, msg.address.key, exc.detail)
            await _say(out, exc.user_message)
        except Exception:
            log.exception("unexpected error handling %s in %s", name, msg.address.key)
            await _say(out, SOMETHING_WENT_WRONG)
        except asyncio.CancelledError:
            # Cut off by a shutdown. A journaled update is handled again by the next start, and
            # a started job is answered by it; anything else would be lost in silence: say so.
            if msg.source is None and keys.used == 0:
                await asyncio.shield(_say(out, INTERRUPTED))
            raise

    async def _dispatch(  # noqa: PLR0912 - one case per command; mypy checks that none is missing
        self, command: c.Command, req: Request, permit: Permit
    ) -> None:
        d = self.deps
        s = d.settings
        match command:
            case c.Chat():
                await conversation.handle_chat(command, req, permit, d.turns, s.max_image_bytes)
            case c.PhotoCaption():
                await conversation.handle_photo_caption(
                    command,
                    req,
                    permit,
                    mode=s.caption_mode,
                    classifier=d.classifier,
                    turns=d.turns,
                    images=d.images,
                    midjourney=d.midjourney,
                    admission=d.admission,
                    max_image_bytes=s.max_image_bytes,
                )
            case c.NewConversation():
                await conversation.handle_new_conversation(req, d.turns)
            case c.GenerateImage():
                await pictures.handle_generate(command, req, permit, d.images)
            case c.EditImages():
                await pictures.handle_edit(command, req, permit, d.images, s.max_image_bytes)
            case c.Imagine():
                await midjourney.handle_imagine(command, req, permit, d.midjourney, s.max_image_bytes)
            case c.Blend():
                await midjourney.handle_blend(command, req, permit, d.midjourney, s.max_image_bytes)
            case c.MjButtonPress():
                await midjourney.handle_button(command, req, permit, d.midjourney)
            case c.MjSeed():
                await midjourney.handle_seed(command, req, d.midjourney)
            case c.ChooseModel():
                await settings.handle_model(
                    command, req, d.chats, d.permissions, gateway=d.gateway, allowed=s.allowed_chat_models
                )
            case c.SetSystemPrompt():
                await settings.handle_system(command, req, d.chats, d.permissions)
            case c.ShowUsage():
                await usage.handle_usage(command, req, d.db, d.prices, d.permissions)
            case c.AdminHelp():
                await admin.handle_admin_help(req)
            case c.AdminAccess():
                await admin.handle_access(command, req, d.access, d.permissions)
            case c.AdminBudget():
                await admin.handle_budget(command, req, d.budgets, d.permissions, d.prices)
            case c.AdminUsage():
                await admin.handle_admin_usage(command, req, d.db, d.prices, d.permissions)
            case c.Help():
                await help.handle_help(req)
            case c.Hint():
                await help.handle_hint(command, req)
            case c.Ignore():
                pass
            case _:
                assert_never(command)


async def _say(out: Outbox, text: str) -> None:
    """Last-resort reply; a failure here is logged, never raised into the adapter."""
    try:
        await out.send_text(text)
    except Exception:
        log.exception("could not deliver an error message to %s", out.address.key)

"""The platform-neutral entry point: route a message, run its handler, never crash."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot import commands as c
from bot.gateway.errors import GatewayError
from bot.guard import Guard, Silent
from bot.handlers import admin, caption, chat, edit, help, image, imagine, settings, usage
from bot.handlers.errors import UserError
from bot.model import Incoming, Outbox
from bot.router import Limits, route
from bot.services import Context, Services

log = logging.getLogger(__name__)

Handler = Callable[[Any, Context], Awaitable[None]]

HANDLERS: dict[type[Any], Handler] = {
    c.Chat: chat.handle_chat,
    c.NewConversation: chat.handle_new_conversation,
    c.PhotoCaption: caption.handle_photo_caption,
    c.EditImages: edit.handle_edit,
    c.GenerateImage: image.handle_generate,
    c.Imagine: imagine.handle_imagine,
    c.Blend: imagine.handle_blend,
    c.MjButtonPress: imagine.handle_button,
    c.MjSeed: imagine.handle_seed,
    c.ChooseModel: settings.handle_model,
    c.SetSystemPrompt: settings.handle_system,
    c.ShowUsage: usage.handle_usage,
    c.Admin: admin.handle_admin,
    c.Help: help.handle_help,
    c.Hint: help.handle_hint,
}


class Core:
    """What every adapter calls with a normalized message and an outbox to answer in."""

    def __init__(self, services: Services) -> None:
        self.services = services
        settings = services.settings
        self._limits = Limits(
            max_prompt_chars=settings.max_prompt_chars, max_images=settings.max_album_images
        )
        self._guard = Guard(services)

    async def handle(self, msg: Incoming, out: Outbox) -> None:
        command = route(msg, self._limits)
        if isinstance(command, c.Ignore):
            return
        log.info(
            "%s from %s in %s",
            type(command).__name__,
            msg.user.id,
            msg.address.key,
        )
        ctx = Context(msg=msg, out=out, services=self.services)
        try:
            # Access, rate, job caps and budgets first: a refused request calls nothing.
            async with self._guard.admit(command, msg):
                await self._remember_chat(msg)
                await HANDLERS[type(command)](command, ctx)
        except Silent:
            log.info("%s in %s ignored (refused before)", type(command).__name__, msg.address.key)
        except UserError as exc:
            log.info("refused %s in %s: %s", type(command).__name__, msg.address.key, exc)
            await _say(out, str(exc))
        except GatewayError as exc:
            log.warning(
                "gateway failure for %s in %s: %s (status %s, request id %s)",
                type(command).__name__,
                msg.address.key,
                exc.detail,
                exc.status,
                exc.request_id,
            )
            await _say(out, "⚠️ " + exc.user_message)
        except Exception:
            log.exception("unexpected error handling %s in %s", type(command).__name__, msg.address.key)
            await _say(out, "⚠️ Something went wrong on my side. Please try again.")

    async def _remember_chat(self, msg: Incoming) -> None:
        address = msg.address
        async with self.services.db.unit_of_work() as uow:
            await uow.chats.ensure(
                address.key, address.platform, address.chat_id, address.kind.value, address.title
            )
            await uow.commit()


async def _say(out: Outbox, text: str) -> None:
    """Last-resort reply; a failure here is logged, never raised into the adapter."""
    try:
        await out.send_text(text)
    except Exception:
        log.exception("could not deliver an error message to %s", out.address.key)

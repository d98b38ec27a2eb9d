"""/model and /system: this chat's chat model and system prompt (its admins', README "Security")."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot import commands as c
from bot.admission.permissions import Permissions
from bot.chat.llm import matches_any
from bot.errors import Refused, UserError
from bot.gateway.client import GatewayClient
from bot.i18n import t
from bot.model import Button
from bot.router import model_payload
from bot.usecases.chats import Chats
from bot.usecases.context import Request

log = logging.getLogger(__name__)

CALLBACK_LIMIT = 64  # bytes of button payload Telegram accepts
RESET_WORDS = frozenset({"default", "reset"})
SHOWN_PROMPT_CHARS = 1500
MODEL_ADMINS_ONLY = t("Only this chat's admins can change its model.")
SYSTEM_ADMINS_ONLY = t("Only this chat's admins can change its system prompt.")


async def available_models(gateway: GatewayClient, allowed: Sequence[str], default: str) -> list[str]:
    """GET /v1/models, narrowed to what ALLOWED_CHAT_MODELS permits; the default always counts."""
    listed = await gateway.models()
    models = [m for m in listed if matches_any(m, allowed)]
    if default not in models:
        models.insert(0, default)
    return sorted(dict.fromkeys(models))


async def handle_model(
    cmd: c.ChooseModel,
    req: Request,
    chats: Chats,
    permissions: Permissions,
    *,
    gateway: GatewayClient,
    allowed: Sequence[str],
) -> None:
    current = req.chat.model
    default = chats.defaults.model
    wanted = cmd.name.strip()
    if wanted.lower() in RESET_WORDS:
        wanted = default
    may_change = await permissions.may_change_settings(req.msg, req.out)
    if wanted and not may_change:
        raise Refused(MODEL_ADMINS_ONLY)
    models = await available_models(gateway, allowed, default)
    if not wanted:
        rows = (
            [
                [Button(("✅ " if m == current else "") + m, model_payload(m))]
                for m in models
                if len(model_payload(m).encode()) <= CALLBACK_LIMIT
            ]
            if may_change
            else []
        )
        text = (
            t(
                "🤖 This chat uses {model}.\nChoose another, or send /model <name> (/model default resets).",
                model=current,
            )
            if may_change
            else t("🤖 This chat uses {model}.", model=current)
        )
        await req.out.send_text(req.tr(text), buttons=rows)
        return
    match = next((m for m in models if m.lower() == wanted.lower()), None)
    if match is None:
        raise UserError(
            t("{model} is not available here. Send /model to see the choices.", model=wanted[:100])
        )
    await chats.set_model(req.msg.address.key, match)
    log.info("chat model of %s set to %s by %s", req.msg.address.key, match, req.msg.user.id)
    await req.out.send_text(req.tr(t("🤖 This chat now uses {model}.", model=match)))


async def handle_system(cmd: c.SetSystemPrompt, req: Request, chats: Chats, permissions: Permissions) -> None:
    key = req.msg.address.key
    text = cmd.prompt.strip()
    if not text:
        custom = await chats.custom_system_prompt(key)
        shown = custom or chats.defaults.system_prompt
        if len(shown) > SHOWN_PROMPT_CHARS:
            shown = shown[: SHOWN_PROMPT_CHARS - 1] + "…"
        reply = (
            t(
                "📝 System prompt (this chat's):\n{prompt}\n\n"
                "Change it with /system <text>; /system reset restores the default.",
                prompt=shown,
            )
            if custom
            else t(
                "📝 System prompt (the default):\n{prompt}\n\n"
                "Change it with /system <text>; /system reset restores the default.",
                prompt=shown,
            )
        )
        await req.out.send_text(req.tr(reply))
        return
    if not await permissions.may_change_settings(req.msg, req.out):
        raise Refused(SYSTEM_ADMINS_ONLY)
    reset = text.lower() in RESET_WORDS
    await chats.set_system_prompt(key, None if reset else text)
    log.info("system prompt of %s %s by %s", key, "reset" if reset else "set", req.msg.user.id)
    done = t("📝 System prompt reset to the default.") if reset else t("📝 System prompt saved.")
    await req.out.send_text(req.tr(done))

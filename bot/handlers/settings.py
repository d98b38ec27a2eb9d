"""/model and /system: this chat's chat model and system prompt, stored with the chat."""

from __future__ import annotations

import logging

from bot import commands as c
from bot import llm
from bot.handlers.errors import UserError
from bot.model import Button
from bot.router import model_payload
from bot.services import Context

log = logging.getLogger(__name__)

CALLBACK_LIMIT = 64  # bytes of button payload Telegram accepts
RESET_WORDS = frozenset({"default", "reset"})
SHOWN_PROMPT_CHARS = 1500


async def available_models(ctx: Context) -> list[str]:
    """GET /v1/models, narrowed to what ALLOWED_CHAT_MODELS permits; the default always counts."""
    settings = ctx.services.settings
    listed = await ctx.services.gateway.models()
    allowed = [m for m in listed if llm.matches_any(m, settings.allowed_chat_models)]
    if settings.chat_model not in allowed:
        allowed.insert(0, settings.chat_model)
    return sorted(dict.fromkeys(allowed))


async def handle_model(cmd: c.ChooseModel, ctx: Context) -> None:
    s = ctx.services
    key = ctx.msg.address.key
    async with s.db.unit_of_work() as uow:
        chat = await uow.chats.get(key)
    current = (chat.chat_model if chat else None) or s.settings.chat_model
    wanted = cmd.name.strip()
    if wanted.lower() in RESET_WORDS:
        wanted = s.settings.chat_model
    models = await available_models(ctx)
    if not wanted:
        rows = [
            [Button(("✅ " if m == current else "") + m, model_payload(m))]
            for m in models
            if len(model_payload(m).encode()) <= CALLBACK_LIMIT
        ]
        await ctx.out.send_text(
            f"🤖 This chat uses {current}.\nChoose another, or send /model <name> (/model default resets).",
            buttons=rows,
        )
        return
    match = next((m for m in models if m.lower() == wanted.lower()), None)
    if match is None:
        raise UserError(f"{wanted} is not available here. Send /model to see the choices.")
    async with s.db.unit_of_work() as uow:
        await uow.chats.set_chat_model(key, None if match == s.settings.chat_model else match)
        await uow.commit()
    log.info("chat model of %s set to %s by %s", key, match, ctx.msg.user.id)
    await ctx.out.send_text(f"🤖 This chat now uses {match}.")


async def handle_system(cmd: c.SetSystemPrompt, ctx: Context) -> None:
    s = ctx.services
    key = ctx.msg.address.key
    text = cmd.prompt.strip()
    if not text:
        async with s.db.unit_of_work() as uow:
            chat = await uow.chats.get(key)
        custom = chat.system_prompt if chat else None
        shown = custom or s.settings.system_prompt
        if len(shown) > SHOWN_PROMPT_CHARS:
            shown = shown[: SHOWN_PROMPT_CHARS - 1] + "…"
        origin = "this chat's" if custom else "the default"
        await ctx.out.send_text(
            f"📝 System prompt ({origin}):\n{shown}\n\n"
            "Change it with /system <text>; /system reset restores the default."
        )
        return
    reset = text.lower() in RESET_WORDS
    async with s.db.unit_of_work() as uow:
        await uow.chats.set_system_prompt(key, None if reset else text)
        await uow.commit()
    log.info("system prompt of %s %s by %s", key, "reset" if reset else "set", ctx.msg.user.id)
    await ctx.out.send_text("📝 System prompt reset to the default." if reset else "📝 System prompt saved.")

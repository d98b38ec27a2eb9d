"""Chat turns with per-chat memory; /new starts a fresh conversation."""

from __future__ import annotations

import base64
import logging
from typing import Any

from bot import commands as c
from bot.handlers.photos import fetch_images
from bot.imaging import thumbnail_jpeg
from bot.model import Activity
from bot.services import Context
from storage import Turn, TurnImage

log = logging.getLogger(__name__)

CUT_OFF_NOTE = "\n\n[the answer was cut off]"


def estimate_tokens(text: str) -> int:
    """Rough count for budgeting memory; real counts come from the gateway's usage."""
    return len(text) // 4 + 1


def _data_url(image: TurnImage) -> str:
    return f"data:{image.mime};base64,{base64.b64encode(image.data).decode()}"


def to_openai_message(role: str, text: str, images: tuple[TurnImage, ...] = ()) -> dict[str, Any]:
    if not images:
        return {"role": role, "content": text}
    parts: list[dict[str, Any]] = [{"type": "text", "text": text}]
    parts += [{"type": "image_url", "image_url": {"url": _data_url(i)}} for i in images]
    return {"role": role, "content": parts}


def build_messages(
    system: str, history: list[Turn], text: str, images: tuple[TurnImage, ...]
) -> list[dict[str, Any]]:
    messages = [{"role": "system", "content": system}]
    messages += [to_openai_message(turn.role, turn.content, turn.images) for turn in history]
    messages.append(to_openai_message("user", text, images))
    return messages


async def handle_chat(cmd: c.Chat, ctx: Context) -> None:
    s = ctx.services
    key = ctx.msg.address.key
    images: tuple[TurnImage, ...] = ()
    if cmd.images:
        checked = await fetch_images(cmd.images, s.settings.max_image_bytes)
        images = tuple(TurnImage("image/jpeg", thumbnail_jpeg(i.data)) for i in checked)

    async with s.db.unit_of_work() as uow:
        chat = await uow.chats.get(key)
        epoch = chat.conversation_epoch if chat else 0
        history = await uow.conversations.recent(key, epoch, s.settings.history_token_budget)
    model = (chat.chat_model if chat else None) or s.settings.chat_model
    system = (chat.system_prompt if chat else None) or s.settings.system_prompt
    messages = build_messages(system, history, cmd.prompt, images)

    stream = ctx.out.stream()
    async with ctx.out.activity(Activity.TYPING):
        result = await s.gateway.chat(model, messages, on_text=stream.push)
    answer = result.text.strip() or "(the model returned an empty answer)"
    if not result.complete:
        answer += CUT_OFF_NOTE
    input_tokens = result.input_tokens or sum(estimate_tokens(str(m["content"])) for m in messages)
    output_tokens = result.output_tokens or estimate_tokens(result.text)

    # Memory and usage in one transaction, before replying: a failed send loses neither.
    async with s.db.unit_of_work() as uow:
        await uow.conversations.add(
            key,
            epoch,
            "user",
            cmd.prompt,
            estimate_tokens(cmd.prompt) + 85 * len(images),
            user_id=ctx.msg.user.id,
            images=images,
        )
        await uow.conversations.add(key, epoch, "assistant", result.text, output_tokens)
        await s.ledger.add(
            uow,
            s.ledger.event(
                ctx.msg.address,
                ctx.msg.user,
                "chat",
                result.model or model,
                request_key=result.request_id or None,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
            ),
        )
        await uow.commit()
    await stream.finish(answer)


async def handle_new_conversation(_: c.NewConversation, ctx: Context) -> None:
    async with ctx.services.db.unit_of_work() as uow:
        await uow.chats.new_conversation(ctx.msg.address.key)
        await uow.commit()
    await ctx.out.send_text("🧹 Started a new conversation. Earlier messages are forgotten.")

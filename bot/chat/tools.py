"""Tools the chat model may call in conversation, run by the same handlers as the commands.

"Draw me a red fox at sunset" in plain chat becomes a `generate_image` call, run by the
/image handler, so the user gets the same image, status line and usage record. Tools that
deliver something to the chat (an image, a Midjourney task) end the turn: the delivery is
the answer. Tools whose result the model has to put into words (`show_usage`, or a tool
that could not run) go back to it as `role: tool` messages.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot import commands as c
from bot.gateway.types import ToolCall
from bot.guard import budget_for
from bot.handlers import edit, image, imagine
from bot.model import ImageAttachment
from bot.services import Context

log = logging.getLogger(__name__)


def _function(name: str, description: str, properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": properties,
                "required": list(properties),
                "additionalProperties": False,
            },
        },
    }


_PROMPT = {"prompt": {"type": "string", "description": "What the picture should show, in detail"}}

SPECS: tuple[dict[str, Any], ...] = (
    _function(
        "generate_image",
        "Draw a new picture from a description and send it to the chat. Use when the user asks "
        "to draw, paint or create an image.",
        _PROMPT,
    ),
    _function(
        "edit_images",
        "Change the most recent images in this conversation (photos the user sent or pictures "
        "made earlier) as described, and send the result.",
        {"prompt": {"type": "string", "description": "What to change in the images"}},
    ),
    _function(
        "imagine_midjourney",
        "Start a Midjourney drawing (four variants with upscale/variation buttons). Use when "
        "the user mentions Midjourney or wants several artistic variants.",
        {"prompt": {"type": "string", "description": "The Midjourney prompt, may include --ar etc."}},
    ),
    _function("show_usage", "Report what this chat has spent on the AI gateway so far.", {}),
)


@dataclass(frozen=True)
class ToolOutcome:
    """What a tool did: `result` goes back to the model unless the tool ended the turn."""

    result: str
    ends_turn: bool = False
    # For conversation memory: what the bot did, and the pictures it sent.
    note: str = ""
    images: tuple[bytes, ...] = field(default=(), repr=False)


async def run(call: ToolCall, ctx: Context, epoch: int) -> ToolOutcome:
    name = call.function.name
    try:
        arguments = json.loads(call.function.arguments or "{}")
    except json.JSONDecodeError:
        arguments = None
    if not isinstance(arguments, dict):
        log.warning("tool %s called with arguments that are not a JSON object", name)
        return ToolOutcome("error: the arguments were not a JSON object")
    log.info("tool call %s in %s", name, ctx.msg.address.key)
    if name == "show_usage":
        return ToolOutcome(await _usage_summary(ctx))
    prompt = str(arguments.get("prompt") or "").strip()
    if name not in ("generate_image", "edit_images", "imagine_midjourney"):
        return ToolOutcome(f"error: there is no tool named {name!r}")
    if not prompt:
        return ToolOutcome("error: a non-empty prompt is required")
    prompt = prompt[: ctx.services.settings.max_prompt_chars]
    # Pictures drawn for the chat model count against budgets like the commands would.
    if name == "generate_image":
        async with budget_for(c.GenerateImage(prompt), ctx):
            made = await image.generate(c.GenerateImage(prompt), ctx)
        return ToolOutcome("The image was sent to the chat.", True, f"[sent an image: {prompt}]", tuple(made))
    if name == "imagine_midjourney":
        async with budget_for(c.Imagine(prompt), ctx):
            await imagine.handle_imagine(c.Imagine(prompt), ctx)
        return ToolOutcome("The Midjourney task was started.", True, f"[started Midjourney: {prompt}]")
    return await _edit(prompt, ctx, epoch)


async def _edit(prompt: str, ctx: Context, epoch: int) -> ToolOutcome:
    async with ctx.services.db.unit_of_work() as uow:
        latest = await uow.conversations.latest_with_images(ctx.msg.address.key, epoch)
    if latest is None:
        return ToolOutcome("error: there are no images in this conversation to edit; ask for a photo")
    sources = tuple(_attachment(i.data, i.mime) for i in latest.images)
    command = c.EditImages(prompt, sources)
    async with budget_for(command, ctx):
        made = await edit.edit_photos(command, ctx)
    return ToolOutcome(
        "The edited image was sent to the chat.", True, f"[edited the images: {prompt}]", tuple(made)
    )


def _attachment(data: bytes, mime: str) -> ImageAttachment:
    """Stored bytes dressed as an attachment, so the /edit handler takes them like photos."""

    async def fetch() -> bytes:
        return data

    return ImageAttachment(fetch, "image." + mime.rsplit("/", maxsplit=1)[-1], mime, len(data))


async def _usage_summary(ctx: Context) -> str:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    async with ctx.services.db.unit_of_work() as uow:
        day = await uow.usage.report(ctx.msg.address.key, since=today)
        ever = await uow.usage.report(ctx.msg.address.key)
    return json.dumps(
        {
            period: {
                "requests": r.totals.requests,
                "input_tokens": r.totals.input_tokens,
                "output_tokens": r.totals.output_tokens,
                "images": r.totals.images,
                "midjourney_tasks": r.totals.mj_tasks,
                "cost": str(r.totals.cost),
            }
            for period, r in (("today_utc", day), ("all_time", ever))
        }
    )


def tool_messages(calls: Sequence[ToolCall], outcomes: Sequence[ToolOutcome]) -> list[dict[str, Any]]:
    """The assistant's calls, echoed as received, then one `tool` message per call (3.5)."""
    return [
        {"role": "tool", "tool_call_id": call.id, "content": outcome.result}
        for call, outcome in zip(calls, outcomes, strict=True)
    ]


def assistant_message(text: str, calls: Sequence[ToolCall]) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": text or None,
        "tool_calls": [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.function.name, "arguments": call.function.arguments},
            }
            for call in calls
        ],
    }

"""Tools the chat model may call in conversation, run by the same use cases as the commands.

"Draw me a red fox at sunset" in plain chat becomes a `generate_image` call, which goes
through the same admission as /image (access, rate limit, job slots, Midjourney cap,
budget) and then the same use case, so the user gets the same image, status line and
usage record — or the same refusal, which goes back to the model as the tool's result so
it can tell the user why. At most MAX_TOOL_JOBS jobs start from one message.

Tools that deliver something to the chat (an image, a Midjourney task) end the turn: the
delivery is the answer. Tools whose result the model has to put into words (`show_usage`,
or a tool that could not run) go back to it as `role: tool` messages. What a model asks
for is untrusted input: arguments are checked, prompts capped.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot import commands as c
from bot.admission.admission import Admission
from bot.errors import BadImage, GatewayError, Silent, UserError
from bot.gateway.types import ToolCall
from bot.imaging import check_image
from bot.usecases.context import Request
from bot.usecases.images import Images
from bot.usecases.midjourney import Midjourney
from storage import Database

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
_JOB_TOOLS = frozenset({"generate_image", "edit_images", "imagine_midjourney"})


@dataclass(frozen=True)
class ToolOutcome:
    """What a tool did: `result` goes back to the model unless the tool ended the turn."""

    result: str
    ends_turn: bool = False
    # For conversation memory: what the bot did, and the pictures it sent.
    note: str = ""
    images: tuple[bytes, ...] = field(default=(), repr=False)


@dataclass
class TurnJobs:
    """Jobs started by tools within one message, against MAX_TOOL_JOBS."""

    started: int = 0


class Tools:
    def __init__(
        self,
        admission: Admission,
        images: Images,
        midjourney: Midjourney,
        db: Database,
        *,
        max_prompt_chars: int,
        max_jobs: int,
        max_image_bytes: int,
    ) -> None:
        self._admission = admission
        self._images = images
        self._midjourney = midjourney
        self._db = db
        self._max_prompt_chars = max_prompt_chars
        self._max_jobs = max_jobs
        self._max_image_bytes = max_image_bytes

    async def run(self, call: ToolCall, req: Request, jobs: TurnJobs) -> ToolOutcome:
        name = call.function.name
        try:
            arguments = json.loads(call.function.arguments or "{}")
        except json.JSONDecodeError:
            arguments = None
        if not isinstance(arguments, dict):
            log.warning("tool %s called with arguments that are not a JSON object", name)
            return ToolOutcome("error: the arguments were not a JSON object")
        log.info("tool call %s in %s", name, req.msg.address.key)
        if name == "show_usage":
            return ToolOutcome(await self._usage_summary(req))
        if name not in _JOB_TOOLS:
            return ToolOutcome(f"error: there is no tool named {name[:64]!r}")
        prompt = arguments.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            return ToolOutcome("error: a non-empty string prompt is required")
        prompt = prompt.strip()[: self._max_prompt_chars]
        if jobs.started >= self._max_jobs:
            log.info(
                "tool job refused in %s: %d already started by this message",
                req.msg.address.key,
                jobs.started,
            )
            return ToolOutcome(
                f"refused: at most {self._max_jobs} pictures or Midjourney tasks can be started from one "
                "message. Tell the user to ask for the rest in another message."
            )
        jobs.started += 1
        try:
            return await self._start(name, prompt, req)
        except Silent:
            return ToolOutcome("refused: the user is sending requests too fast; tell them to wait a minute.")
        except UserError as exc:
            return ToolOutcome(f"refused: {exc.user_message}")
        except GatewayError as exc:
            log.warning("tool %s failed in %s: %s", name, req.msg.address.key, exc.detail)
            return ToolOutcome(f"failed: {exc.user_message}")

    async def _start(self, name: str, prompt: str, req: Request) -> ToolOutcome:
        admit = self._admission.admit
        if name == "generate_image":
            async with admit(req.msg, c.GenerateImage(prompt), chat_model=req.chat.model) as permit:
                made = await self._images.generate(req, permit, prompt)
            return ToolOutcome(
                "The image was sent to the chat.", True, f"[sent an image: {prompt}]", tuple(made)
            )
        if name == "imagine_midjourney":
            async with admit(req.msg, c.Imagine(prompt), chat_model=req.chat.model) as permit:
                await self._midjourney.imagine(req, permit, prompt)
            return ToolOutcome("The Midjourney task was started.", True, f"[started Midjourney: {prompt}]")
        async with self._db.unit_of_work() as uow:
            latest = await uow.conversations.latest_with_images(req.msg.address.key, req.chat.epoch)
        if latest is None:
            return ToolOutcome("error: there are no images in this conversation to edit; ask for a photo")
        try:
            sources = await asyncio.to_thread(
                lambda: [check_image(i.data, max_bytes=self._max_image_bytes) for i in latest.images]
            )
        except BadImage as exc:
            return ToolOutcome(f"error: the conversation's image cannot be edited ({exc.user_message})")
        command = c.EditImages(prompt, ())
        async with admit(req.msg, command, chat_model=req.chat.model) as permit:
            made = await self._images.edit(req, permit, prompt, sources)
        return ToolOutcome(
            "The edited image was sent to the chat.", True, f"[edited the images: {prompt}]", tuple(made)
        )

    async def _usage_summary(self, req: Request) -> str:
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        async with self._db.unit_of_work() as uow:
            day = await uow.usage.report(req.msg.address.key, since=today)
            ever = await uow.usage.report(req.msg.address.key)
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
    """The assistant's calls, echoed as received, then one `tool` message per call (wenwen-api.md §3.5)."""
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

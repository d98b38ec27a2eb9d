"""A photo with a caption: edit it, answer a question about it, or blend (CAPTION_MODE).

With CAPTION_MODE=auto a cheap chat call with `response_format: json_schema` decides
(wenwen-api.md §3.4) and cleans the caption into a prompt; `edit` and `ask` skip the call.
The call is billed, so its usage is recorded like any other. An answer that is not the
JSON asked for — or a failed call — falls back to an edit, the bot's historical default.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Literal

from bot import commands as c
from bot import llm
from bot.config import CaptionMode
from bot.gateway.errors import GatewayError
from bot.guard import budget_for
from bot.handlers.chat import handle_chat
from bot.handlers.edit import handle_edit
from bot.handlers.imagine import handle_blend
from bot.services import Context

log = logging.getLogger(__name__)

Intent = Literal["edit", "question", "blend"]
INTENTS: tuple[Intent, ...] = ("edit", "question", "blend")

INSTRUCTIONS = (
    "You sort photo captions sent to an image bot. The user's message is the caption of "
    "{count} photo(s). intent is 'edit' when the caption asks to change, restyle or add to "
    "the photos; 'question' when it asks about their content; 'blend' when it asks to merge "
    "or combine several photos into one. prompt is the caption as a clean instruction or "
    "question, without greetings or mentions, in the caption's language."
)

SCHEMA: dict[str, Any] = {
    "type": "json_schema",
    "json_schema": {
        "name": "caption_intent",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {
                "intent": {"type": "string", "enum": list(INTENTS)},
                "prompt": {"type": "string"},
            },
            "required": ["intent", "prompt"],
            "additionalProperties": False,
        },
    },
}


@dataclass(frozen=True)
class Decision:
    intent: Intent
    prompt: str


def parse_decision(content: str, caption: str) -> Decision | None:
    """The model's JSON as a Decision; None when it is not the JSON we asked for."""
    try:
        value = json.loads(content)
    except (json.JSONDecodeError, TypeError):
        return None
    if not isinstance(value, dict) or value.get("intent") not in INTENTS:
        return None
    prompt = value.get("prompt")
    cleaned = prompt.strip() if isinstance(prompt, str) else ""
    intent: Intent = value["intent"]
    return Decision(intent, cleaned or caption)


async def handle_photo_caption(cmd: c.PhotoCaption, ctx: Context) -> None:
    mode = ctx.services.settings.caption_mode
    if mode is CaptionMode.ASK:
        decision = Decision("question", cmd.prompt)
    elif mode is CaptionMode.EDIT:
        decision = Decision("edit", cmd.prompt)
    else:
        decision = await classify(cmd, ctx)
    log.info("caption in %s treated as %s", ctx.msg.address.key, decision.intent)
    if decision.intent == "question":
        # The original caption: the question is the user's, word for word.
        await handle_chat(c.Chat(cmd.prompt, cmd.images, explicit=True), ctx)
    elif decision.intent == "blend" and 2 <= len(cmd.images) <= 5:
        blend = c.Blend(cmd.images)
        # Admission reserved a question or an edit; a blend is a Midjourney task, with its own limits.
        async with budget_for(blend, ctx):
            await handle_blend(blend, ctx)
    else:
        await handle_edit(c.EditImages(decision.prompt, cmd.images), ctx)


async def classify(cmd: c.PhotoCaption, ctx: Context) -> Decision:
    s = ctx.services
    model = s.settings.classifier_model
    messages = [
        {"role": "system", "content": INSTRUCTIONS.format(count=len(cmd.images))},
        {"role": "user", "content": cmd.prompt},
    ]
    try:
        result = await llm.complete(s, model, messages, response_format=SCHEMA)
    except GatewayError as exc:
        log.warning("caption classification failed (%s); treating it as an edit", exc.detail)
        return Decision("edit", cmd.prompt)
    await s.ledger.record(
        s.db,
        s.ledger.event(
            ctx.msg.address,
            ctx.msg.user,
            "classification",
            result.model or model,
            request_key=result.request_id or None,
            input_tokens=result.input_tokens,
            output_tokens=result.output_tokens,
        ),
    )
    decision = parse_decision(result.text, cmd.prompt)
    if decision is None:
        log.warning(
            "caption classifier answered invalid JSON (%d chars); treating it as an edit", len(result.text)
        )
        return Decision("edit", cmd.prompt)
    return decision

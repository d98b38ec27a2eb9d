"""What a captioned photo asks for: an edit, a question about it, or a blend.

With CAPTION_MODE=auto a cheap chat call with `response_format: json_schema` decides
(wenwen-api.md §3.4) and cleans the caption into a prompt. The call is billed, so its
usage is recorded like any other. An answer that is not the JSON asked for — or a failed
call — falls back to an edit, the bot's historical default.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Literal

from bot.admission.admission import Permit
from bot.chat.llm import Llm
from bot.errors import GatewayError
from bot.usage.estimates import CLASSIFIER_MAX_TOKENS
from bot.usage.recorder import Recorder
from bot.usecases.context import Request

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


class Classifier:
    """Decides what a captioned photo asks for, with one cheap structured-output call."""

    def __init__(self, llm: Llm, recorder: Recorder, model: str) -> None:
        self._llm = llm
        self._recorder = recorder
        self._model = model

    async def classify(self, req: Request, permit: Permit, caption: str, images: int) -> Decision:
        messages = [
            {"role": "system", "content": INSTRUCTIONS.format(count=images)},
            {"role": "user", "content": caption},
        ]
        try:
            result = await self._llm.complete(
                self._model, messages, response_format=SCHEMA, max_tokens=CLASSIFIER_MAX_TOKENS
            )
        except GatewayError as exc:
            log.warning("caption classification failed (%s); treating it as an edit", exc.detail)
            return Decision("edit", caption)
        await self._recorder.record(
            self._recorder.ledger.event(
                req.msg.address,
                req.msg.user,
                "classification",
                result.model or self._model,
                request_key=result.request_id or None,
                input_tokens=result.input_tokens,
                output_tokens=result.output_tokens,
            ),
            permit.hold,
        )
        decision = parse_decision(result.text, caption)
        if decision is None:
            log.warning(
                "caption classifier answered invalid JSON (%d chars); treating it as an edit",
                len(result.text),
            )
            return Decision("edit", caption)
        return decision

"""Incoming message → command. A plain table, read top to bottom; no I/O here."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from bot import commands as c
from bot.model import Incoming

BLEND_DIMENSIONS = {"portrait": "PORTRAIT", "square": "SQUARE", "landscape": "LANDSCAPE"}
BUTTON_PREFIX = "mj"
SEED_BUTTON = "seed"  # mj:<task id>:seed — the bot's own button, not a Midjourney one
MODEL_PREFIX = "model"


@dataclass(frozen=True)
class Limits:
    max_prompt_chars: int = 8000
    max_images: int = 10


@dataclass(frozen=True)
class CommandSpec:
    name: str
    description: str
    build: Callable[[str, Incoming, Limits], c.Command]
    in_menu: bool = True


def _ask(args: str, msg: Incoming, _: Limits) -> c.Command:
    if not args:
        return c.Hint("Usage: /ask <question> — for example /ask what is a quasar?")
    return c.Chat(args, msg.images, explicit=True)


def _imagine(args: str, msg: Incoming, _: Limits) -> c.Command:
    if not args:
        return c.Hint("Usage: /imagine <prompt> — for example /imagine a lighthouse at dawn --ar 16:9")
    return c.Imagine(args, msg.images)


def _blend(args: str, msg: Incoming, _: Limits) -> c.Command:
    dimension = BLEND_DIMENSIONS.get(args.strip().lower()) if args.strip() else "SQUARE"
    if dimension is None:
        return c.Hint("Usage: /blend [portrait|square|landscape], sent with 2–5 photos.")
    if not 2 <= len(msg.images) <= 5:
        return c.Hint(
            f"/blend needs 2 to 5 photos sent together in one message (you sent {len(msg.images)})."
        )
    return c.Blend(msg.images, dimension)


def _image(args: str, _msg: Incoming, _: Limits) -> c.Command:
    if not args:
        return c.Hint("Usage: /image <prompt> — for example /image a watercolor fox")
    return c.GenerateImage(args)


def _edit(args: str, msg: Incoming, _: Limits) -> c.Command:
    if not msg.images:
        return c.Hint("Send one or more photos together with /edit <what to change>.")
    if not args:
        return c.Hint("Say what to change: /edit <instruction>, sent with the photos.")
    return c.EditImages(args, msg.images)


def _mask(args: str, msg: Incoming, _: Limits) -> c.Command:
    if len(msg.images) != 2:
        return c.Hint(
            "Send two photos together with /mask <what to change>: the photo first, then its "
            "mask (transparent or white where to change)."
        )
    if not args:
        return c.Hint("Say what to change: /mask <instruction>, sent with the photo and its mask.")
    return c.EditImages(args, msg.images[:1], mask=msg.images[1])


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("ask", "Ask the AI (in groups, or with a photo to ask about it)", _ask),
    CommandSpec("image", "Generate an image from text", _image),
    CommandSpec("imagine", "Midjourney: draw a picture from a prompt", _imagine),
    CommandSpec("blend", "Midjourney: blend 2–5 photos sent together", _blend),
    CommandSpec("edit", "Edit the attached photos as described", _edit),
    CommandSpec("mask", "Edit a photo where its mask (second photo) allows", _mask),
    CommandSpec("model", "Show or switch this chat's AI model", lambda a, _m, _l: c.ChooseModel(a.strip())),
    CommandSpec("system", "Show or set this chat's system prompt", lambda a, _m, _l: c.SetSystemPrompt(a)),
    CommandSpec("usage", "What this chat has spent", lambda a, _m, _l: c.ShowUsage(a.strip())),
    CommandSpec("admin", "Bot admin: access, budgets, usage", lambda a, _m, _l: c.Admin(a), in_menu=False),
    CommandSpec("new", "Start a fresh conversation", lambda _a, _m, _l: c.NewConversation()),
    CommandSpec("help", "What this bot can do", lambda _a, _m, _l: c.Help()),
    CommandSpec("start", "Welcome and help", lambda _a, _m, _l: c.Help(), in_menu=False),
)
_BY_NAME = {spec.name: spec for spec in COMMANDS}
_PROMPTED = (c.Chat, c.PhotoCaption, c.EditImages, c.GenerateImage, c.Imagine, c.SetSystemPrompt)


_COMMAND = re.compile(r"/([A-Za-z0-9_]+)(?:@\w+)?(?:\s+(.*))?", re.DOTALL)


def split_command(text: str) -> tuple[str, str] | None:
    """`/imagine@bot a cat` → ("imagine", "a cat"); None when the text is not a command."""
    match = _COMMAND.fullmatch(text)
    if match is None:
        return None
    return match.group(1).lower(), (match.group(2) or "").strip()


def route(msg: Incoming, limits: Limits) -> c.Command:
    command = _route(msg, limits)
    return _check_limits(command, msg, limits)


def _route(msg: Incoming, limits: Limits) -> c.Command:
    if msg.callback is not None:
        return _button(msg.callback)
    addressed = msg.is_private or msg.mentioned or msg.reply_to_bot
    if msg.unsupported and not msg.images:
        if not addressed:
            return c.Ignore()
        return c.Hint(
            f"I can't read {msg.unsupported}. Send text, or photos (or image files) with "
            "a few words on what to do with them."
        )

    parsed = (msg.command, _options_text(msg)) if msg.command else split_command(msg.text.strip())
    if parsed is not None:
        name, args = parsed
        spec = _BY_NAME.get(name)
        if spec is None:
            return c.Hint(f"Unknown command /{name}. Send /help for the list.") if addressed else c.Ignore()
        return spec.build(args, msg, limits)

    if not addressed:
        return c.Ignore()
    text = msg.text.strip()
    if msg.images:
        if not text:
            return c.Hint(
                "Tell me what to do with the photo: what should I change? (or /blend, /imagine <prompt>)"
            )
        return c.PhotoCaption(text, msg.images)
    if not text:
        return c.Hint("Yes? Write your question after the mention, or send /help.")
    return c.Chat(text)


def _options_text(msg: Incoming) -> str:
    """Structured options (Discord) flattened to the same argument text Telegram users type."""
    if msg.command == "blend":
        return msg.option("dimensions") or ""
    named = msg.option("prompt") or msg.option("text") or msg.option("period") or msg.option("model")
    return (named or msg.text).strip()


def _button(payload: str) -> c.Command:
    prefix, _, rest = payload.partition(":")
    if prefix == MODEL_PREFIX and rest:
        return c.ChooseModel(rest)
    task_id, _, index = rest.rpartition(":")
    if prefix == BUTTON_PREFIX and task_id and index == SEED_BUTTON:
        return c.MjSeed(task_id)
    # isdigit() alone accepts "²" and other non-ASCII digits that int() rejects or misreads.
    if prefix != BUTTON_PREFIX or not task_id or not (index.isascii() and index.isdigit()):
        return c.Hint("This button is no longer valid.")
    return c.MjButtonPress(task_id, int(index))


def _check_limits(command: c.Command, msg: Incoming, limits: Limits) -> c.Command:
    if isinstance(command, _PROMPTED) and len(command.prompt) > limits.max_prompt_chars:
        return c.Hint(
            f"That prompt is {len(command.prompt):,} characters; the limit is "
            f"{limits.max_prompt_chars:,}. Please shorten it."
        )
    if len(msg.images) > limits.max_images and not isinstance(command, c.Ignore | c.Hint):
        return c.Hint(f"Too many photos: {len(msg.images)}. I can take at most {limits.max_images} at once.")
    return command


def button_payload(task_id: str, index: int) -> str:
    return f"{BUTTON_PREFIX}:{task_id}:{index}"


def seed_payload(task_id: str) -> str:
    return f"{BUTTON_PREFIX}:{task_id}:{SEED_BUTTON}"


def model_payload(model: str) -> str:
    """A /model button's payload (callers skip names too long for 64-byte callback data)."""
    return f"{MODEL_PREFIX}:{model}"

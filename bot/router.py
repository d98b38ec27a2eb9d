"""Incoming message → typed command. Plain tables, read top to bottom; no I/O here.

Text (Telegram, the console, Discord messages) is parsed here once. Discord's slash
commands arrive with structured options: its adapter calls the same builders below
(`ask`, `blend`, `usage`…) and puts the command on `Incoming.command`, so both paths
make the same commands and the same hints.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from bot import commands as c
from bot.errors import LimitSyntaxError
from bot.model import ImageAttachment, Incoming
from bot.usage.limits import parse_amount, parse_key

BLEND_DIMENSIONS = {"portrait": "PORTRAIT", "square": "SQUARE", "landscape": "LANDSCAPE"}
BUTTON_PREFIX = "mj"
SEED_BUTTON = "seed"  # mj:<task id>:seed — the bot's own button, not a Midjourney one
MODEL_PREFIX = "model"
USAGE_HELP = "Usage: /usage [today|week|month|all] · /usage me [period] · /usage chart · /usage export"
ADMIN_BUDGET_EXAMPLE = "Example: /admin budget user day images 10"

Images = tuple[ImageAttachment, ...]


@dataclass(frozen=True)
class Limits:
    max_prompt_chars: int = 8000
    max_images: int = 10


# --- builders: one per command, shared by text and Discord's structured options ---------


def ask(prompt: str, images: Images = ()) -> c.Command:
    if not prompt.strip():
        return c.Hint("Usage: /ask <question> — for example /ask what is a quasar?")
    return c.Chat(prompt.strip(), images, explicit=True)


def imagine(prompt: str, images: Images = ()) -> c.Command:
    if not prompt.strip():
        return c.Hint("Usage: /imagine <prompt> — for example /imagine a lighthouse at dawn --ar 16:9")
    return c.Imagine(prompt.strip(), images)


def blend(dimensions: str, images: Images) -> c.Command:
    dimension = BLEND_DIMENSIONS.get(dimensions.strip().lower()) if dimensions.strip() else "SQUARE"
    if dimension is None:
        return c.Hint("Usage: /blend [portrait|square|landscape], sent with 2–5 photos.")
    if not 2 <= len(images) <= 5:
        return c.Hint(f"/blend needs 2 to 5 photos sent together in one message (you sent {len(images)}).")
    return c.Blend(images, dimension)


def image(prompt: str) -> c.Command:
    if not prompt.strip():
        return c.Hint("Usage: /image <prompt> — for example /image a watercolor fox")
    return c.GenerateImage(prompt.strip())


def edit(prompt: str, images: Images) -> c.Command:
    if not images:
        return c.Hint("Send one or more photos together with /edit <what to change>.")
    if not prompt.strip():
        return c.Hint("Say what to change: /edit <instruction>, sent with the photos.")
    return c.EditImages(prompt.strip(), images)


def mask(prompt: str, images: Images) -> c.Command:
    if len(images) != 2:
        return c.Hint(
            "Send two photos together with /mask <what to change>: the photo first, then its "
            "mask (transparent or white where to change)."
        )
    if not prompt.strip():
        return c.Hint("Say what to change: /mask <instruction>, sent with the photo and its mask.")
    return c.EditImages(prompt.strip(), images[:1], mask=images[1])


def model(name: str) -> c.Command:
    return c.ChooseModel(name.strip())


def system(prompt: str) -> c.Command:
    return c.SetSystemPrompt(prompt.strip())


def usage(view: c.UsageView = c.UsageView.TOTALS, period: c.UsagePeriod | None = None) -> c.Command:
    return c.ShowUsage(view, period or c.UsagePeriod.MONTH)


def usage_from_text(args: str) -> c.Command:
    """`/usage [today|week|month|all]`, `/usage me [period]`, `/usage chart`, `/usage export`."""
    words = args.lower().split()
    view = c.UsageView.TOTALS
    if words and words[0] in ("me", "chart", "export"):
        view = c.UsageView(words.pop(0))
    if view in (c.UsageView.CHART, c.UsageView.EXPORT):
        return c.ShowUsage(view) if not words else c.Hint(USAGE_HELP)
    if len(words) > 1:
        return c.Hint(USAGE_HELP)
    period = _period(words[0]) if words else c.UsagePeriod.MONTH
    return c.Hint(USAGE_HELP) if period is None else c.ShowUsage(view, period)


def _period(word: str) -> c.UsagePeriod | None:
    try:
        return c.UsagePeriod(word.lower())
    except ValueError:
        return None


# --- /admin ---------------------------------------------------------------------------

# Telegram chat ids are signed and fit in 52 bits; Discord ids are 64-bit snowflakes.
_CHAT_IDS = {"tg": re.compile(r"-?[1-9][0-9]{0,15}"), "dc": re.compile(r"[1-9][0-9]{0,19}")}
_LOCAL_CHATS = {"console": re.compile(r"local")}


def chat_ref(word: str, platform: str) -> str | None:
    """A valid chat key from what an admin typed ("tg:-100123", or a bare id of this platform).

    None when the word is not a chat key at all (it may be the next argument); a word that
    looks like a key but is malformed (`tg:abc`, control characters) raises `BadChatKey`.
    """
    prefix, colon, rest = word.partition(":")
    if not colon:
        prefix, rest = platform, word
        if not re.fullmatch(r"-?[0-9]+", word):
            return None
    pattern = _CHAT_IDS.get(prefix) or _LOCAL_CHATS.get(prefix)
    if pattern is None or not pattern.fullmatch(rest) or (prefix == "dc" and int(rest) >= 2**64):
        raise BadChatKey(word)
    return f"{prefix}:{rest}"


class BadChatKey(ValueError):
    def __init__(self, word: str) -> None:
        # repr() shows control characters (bidi overrides…) instead of letting them reorder the reply.
        super().__init__(
            f"{word!r} is not a chat key. Write it as /usage shows it, e.g. tg:-100123 or dc:123."
        )


def admin(args: str, platform: str) -> c.Command:
    """`/admin allow|deny|budget|usage …` parsed into one typed command (or a hint)."""
    words = args.split()
    sub = words.pop(0).lower() if words else "help"
    try:
        if sub in ("allow", "deny"):
            if len(words) > 1:
                return c.Hint(f"Usage: /admin {sub} [chat]")
            chat = chat_ref(words[0], platform) if words else None
            if words and chat is None:
                raise BadChatKey(words[0])
            return c.AdminAccess(sub == "allow", chat)
        if sub == "budget":
            return _admin_budget(words, platform)
        if sub == "usage":
            chat = chat_ref(words[0], platform) if words else None
            if chat is not None:
                words = words[1:]
            period = _period(words[0]) if len(words) == 1 else (c.UsagePeriod.MONTH if not words else None)
            if period is None:
                return c.Hint("Usage: /admin usage [chat] [today|week|month|all]")
            return c.AdminUsage(chat, period)
    except BadChatKey as exc:
        return c.Hint(str(exc))
    return c.AdminHelp()


def _admin_budget(words: list[str], platform: str) -> c.Command:
    chat = chat_ref(words[0], platform) if words else None
    if chat is not None:
        words = words[1:]
    if not words:
        return c.AdminBudget(chat)
    try:
        return c.AdminBudget(chat, budget_change(" ".join(words)))
    except LimitSyntaxError as exc:
        return c.Hint(f"{exc.user_message}. {ADMIN_BUDGET_EXAMPLE}")


def budget_change(text: str) -> c.BudgetChange:
    """`user day images 10`, `chat.day.cost=5`, `… off`, `… default` (back to the operator's)."""
    match = re.fullmatch(r"(.+?)(?:\s*=\s*|\s+)(\S+)", text.strip())
    if match is None:
        raise LimitSyntaxError(
            f"{text.strip()!r}: write <chat|user> <day|month> <cost|tokens|images|mj> <amount|off|default>"
        )
    key = parse_key(match.group(1))
    value = match.group(2)
    if value.lower() == "default":
        return c.BudgetChange(key, reset=True)
    amount: Decimal | None = parse_amount(key, value)
    return c.BudgetChange(key, amount)


# --- the text command table ------------------------------------------------------------


@dataclass(frozen=True)
class CommandSpec:
    name: str
    description: str
    build: Callable[[str, Incoming], c.Command]
    in_menu: bool = True


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec(
        "ask", "Ask the AI (in groups, or with a photo to ask about it)", lambda a, m: ask(a, m.images)
    ),
    CommandSpec("image", "Generate an image from text", lambda a, _m: image(a)),
    CommandSpec("imagine", "Midjourney: draw a picture from a prompt", lambda a, m: imagine(a, m.images)),
    CommandSpec("blend", "Midjourney: blend 2–5 photos sent together", lambda a, m: blend(a, m.images)),
    CommandSpec("edit", "Edit the attached photos as described", lambda a, m: edit(a, m.images)),
    CommandSpec("mask", "Edit a photo where its mask (second photo) allows", lambda a, m: mask(a, m.images)),
    CommandSpec("model", "Show or switch this chat's AI model", lambda a, _m: model(a)),
    CommandSpec("system", "Show or set this chat's system prompt", lambda a, _m: system(a)),
    CommandSpec("usage", "What this chat has spent", lambda a, _m: usage_from_text(a)),
    CommandSpec(
        "admin",
        "Bot admin: access, budgets, usage",
        lambda a, m: admin(a, m.address.platform),
        in_menu=False,
    ),
    CommandSpec("new", "Start a fresh conversation", lambda _a, _m: c.NewConversation()),
    CommandSpec("help", "What this bot can do", lambda _a, _m: c.Help()),
    CommandSpec("start", "Welcome and help", lambda _a, _m: c.Help(), in_menu=False),
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
    command = msg.command if msg.command is not None else _route(msg)
    return _check_limits(command, msg, limits)


def _route(msg: Incoming) -> c.Command:
    if msg.callback is not None:
        return _button(msg.callback)
    addressed = msg.is_private or msg.mentioned or msg.reply_to_bot
    if msg.unsupported and not msg.images:
        return unsupported_hint(msg.unsupported) if addressed else c.Ignore()
    parsed = split_command(msg.text.strip())
    if parsed is not None:
        name, args = parsed
        spec = _BY_NAME.get(name)
        if spec is None:
            return c.Hint(f"Unknown command /{name}. Send /help for the list.") if addressed else c.Ignore()
        return spec.build(args, msg)
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


def unsupported_hint(kind: str) -> c.Command:
    return c.Hint(
        f"I can't read {kind}. Send text, or photos (or image files) with a few words "
        "on what to do with them."
    )


def _button(payload: str) -> c.Command:
    prefix, _, rest = payload.partition(":")
    if prefix == MODEL_PREFIX and rest:
        return c.ChooseModel(rest)
    task_id, _, index = rest.rpartition(":")
    if prefix == BUTTON_PREFIX and task_id and index == SEED_BUTTON:
        return c.MjSeed(task_id)
    # isdigit() alone accepts "²" and other non-ASCII digits that int() rejects or misreads.
    if prefix != BUTTON_PREFIX or not task_id or not (index.isascii() and index.isdigit()) or len(index) > 3:
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


def menu() -> Sequence[CommandSpec]:
    """The commands shown in menus and /help."""
    return [spec for spec in COMMANDS if spec.in_menu]

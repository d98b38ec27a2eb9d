"""Incoming message → typed command. Plain tables, read top to bottom; no I/O here.

Text (Telegram, the console, Discord messages) is parsed here once. Discord's slash
commands arrive with structured options: its adapter calls the same builders below
(`ask`, `blend`, `usage`…) and puts the command on `Incoming.command`, so both paths
make the same commands and the same hints.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from bot import commands as c
from bot.errors import LimitSyntaxError
from bot.i18n import Lang, Text, t
from bot.i18n.locale import parse_name
from bot.model import AudioAttachment, DocumentAttachment, ImageAttachment, Incoming
from bot.usage.limits import parse_amount, parse_key

BLEND_DIMENSIONS = {"portrait": "PORTRAIT", "square": "SQUARE", "landscape": "LANDSCAPE"}
BUTTON_PREFIX = "mj"
SEED_BUTTON = "seed"  # mj:<task id>:seed — the bot's own button, not a Midjourney one
PROMPT_BUTTON = "p"  # mj:<task id>:p<n> — "Imagine n" under a Describe result
# mjask:<request id> — opens a dialog for a prompt (Discord); the adapter answers it itself.
ASK_PREFIX = "mjask"
MODEL_PREFIX = "model"
REGENERATE_PREFIX = "regen"
STOP_PREFIX = "stop"
CONTINUE_PREFIX = "more"
_ANSWER_KEY = re.compile(r"[0-9a-f]{32}")
LANG_PREFIX = "lang"
AUTO = "auto"
LANG_HELP = t("Usage: /lang en|zh|auto · /lang chat en|zh|auto (the chat's default, for its admins)")
USAGE_HELP = t("Usage: /usage [today|week|month|all] · /usage me [period] · /usage chart · /usage export")

Images = tuple[ImageAttachment, ...]
Documents = tuple[DocumentAttachment, ...]
# Spoken commands: a transcript that starts with one of these words is that command
# ("imagine a lighthouse at dawn" → /imagine); anything else is a question.
SPOKEN_COMMANDS = frozenset({"imagine"})


@dataclass(frozen=True)
class Limits:
    max_prompt_chars: int = 8000
    max_images: int = 10
    voice_max_seconds: int = 300
    voice_max_bytes: int = 25 * 1024 * 1024


def audio_refusal(audio: AudioAttachment, max_seconds: int, max_bytes: int) -> Text | None:
    """Why a recording is refused before any paid call (from what the platform says), or None."""
    if audio.duration is not None and audio.duration > max_seconds:
        return t(
            "That recording is {seconds} seconds long; I can transcribe at most {limit} seconds. "
            "Please send a shorter one.",
            seconds=round(audio.duration),
            limit=max_seconds,
        )
    if audio.size is not None and audio.size > max_bytes:
        return t(
            "That recording is {size_mb} MB; I can transcribe at most {limit_mb} MB. "
            "Please send a shorter one.",
            size_mb=round(audio.size / 1_048_576, 1),
            limit_mb=round(max_bytes / 1_048_576),
        )
    return None


# --- builders: one per command, shared by text and Discord's structured options ---------


def ask(prompt: str, images: Images = (), documents: Documents = ()) -> c.Command:
    if not prompt.strip():
        return c.Hint(t("Usage: /ask <question> — for example /ask what is a quasar?"))
    return c.Chat(prompt.strip(), images, explicit=True, documents=documents)


def voice(args: str) -> c.Command:
    word = args.strip().lower()
    if word in ("on", "off"):
        return c.SetVoice(word == "on")
    if word:
        return c.Hint(t("Usage: /voice on|off — answers also come back as voice messages."))
    return c.SetVoice()


def imagine(prompt: str, images: Images = ()) -> c.Command:
    if not prompt.strip():
        return c.Hint(t("Usage: /imagine <prompt> — for example /imagine a lighthouse at dawn --ar 16:9"))
    return c.Imagine(prompt.strip(), images)


def blend(dimensions: str, images: Images) -> c.Command:
    dimension = BLEND_DIMENSIONS.get(dimensions.strip().lower()) if dimensions.strip() else "SQUARE"
    if dimension is None:
        return c.Hint(t("Usage: /blend [portrait|square|landscape], sent with 2–5 photos."))
    if not 2 <= len(images) <= 5:
        return c.Hint(
            t(
                "/blend needs 2 to 5 photos sent together in one message (you sent {count}).",
                count=len(images),
            )
        )
    return c.Blend(images, dimension)


def describe(images: Images) -> c.Command:
    if len(images) != 1:
        return c.Hint(
            t("Send /describe together with one photo, or reply to a photo with /describe.")
            if not images
            else t("/describe takes one photo at a time (you sent {count}).", count=len(images))
        )
    return c.Describe(images[0])


def image(prompt: str) -> c.Command:
    if not prompt.strip():
        return c.Hint(t("Usage: /image <prompt> — for example /image a watercolor fox"))
    return c.GenerateImage(prompt.strip())


def edit(prompt: str, images: Images) -> c.Command:
    if not images:
        return c.Hint(t("Send one or more photos together with /edit <what to change>."))
    if not prompt.strip():
        return c.Hint(t("Say what to change: /edit <instruction>, sent with the photos."))
    return c.EditImages(prompt.strip(), images)


def mask(prompt: str, images: Images) -> c.Command:
    if len(images) != 2:
        return c.Hint(
            t(
                "Send two photos together with /mask <what to change>: the photo first, then its "
                "mask (transparent or white where to change)."
            )
        )
    if not prompt.strip():
        return c.Hint(t("Say what to change: /mask <instruction>, sent with the photo and its mask."))
    return c.EditImages(prompt.strip(), images[:1], mask=images[1])


def model(name: str) -> c.Command:
    return c.ChooseModel(name.strip())


def system(prompt: str) -> c.Command:
    return c.SetSystemPrompt(prompt.strip())


def language(args: str) -> c.Command:
    """`/lang`, `/lang <en|zh|auto>`, `/lang chat <en|zh|auto>` (the chat's default, its admins)."""
    words = args.split()
    for_chat = bool(words) and words[0].lower() == "chat"
    if for_chat:
        words = words[1:]
    if not words and not for_chat:
        return c.ShowLanguage()
    if len(words) != 1:
        return c.Hint(LANG_HELP)
    if words[0].lower() == AUTO:
        return c.SetLanguage(None, for_chat)
    lang = parse_name(words[0])
    return c.Hint(LANG_HELP) if lang is None else c.SetLanguage(lang, for_chat)


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
        self.text = t(
            "{word} is not a chat key. Write it as /usage shows it, e.g. tg:-100123 or dc:123.",
            word=repr(word),
        )
        super().__init__(str(self.text))


def admin(args: str, platform: str) -> c.Command:
    """`/admin allow|deny|budget|usage …` parsed into one typed command (or a hint)."""
    words = args.split()
    sub = words.pop(0).lower() if words else "help"
    try:
        if sub in ("allow", "deny"):
            if len(words) > 1:
                return c.Hint(t("Usage: /admin {command} [chat]", command=sub))
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
                return c.Hint(t("Usage: /admin usage [chat] [today|week|month|all]"))
            return c.AdminUsage(chat, period)
    except BadChatKey as exc:
        return c.Hint(exc.text)
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
        return c.Hint(t("{problem}. Example: /admin budget user day images 10", problem=exc.text))


def budget_change(text: str) -> c.BudgetChange:
    """`user day images 10`, `chat.day.cost=5`, `… off`, `… default` (back to the operator's)."""
    match = re.fullmatch(r"(.+?)(?:\s*=\s*|\s+)(\S+)", text.strip())
    if match is None:
        raise LimitSyntaxError(
            t(
                "{text}: write <chat|user> <day|month> <cost|tokens|images|mj> <amount|off|default>",
                text=repr(text.strip()),
            )
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
    description: Text
    build: Callable[[str, Incoming], c.Command]
    in_menu: bool = True


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec(
        "ask",
        t("Ask the AI (in groups, or with a photo or file to ask about it)"),
        lambda a, m: ask(a, m.images, m.documents),
    ),
    CommandSpec("image", t("Generate an image from text"), lambda a, _m: image(a)),
    CommandSpec("imagine", t("Midjourney: draw a picture from a prompt"), lambda a, m: imagine(a, m.images)),
    CommandSpec("blend", t("Midjourney: blend 2–5 photos sent together"), lambda a, m: blend(a, m.images)),
    CommandSpec(
        "describe",
        t("Midjourney: four prompts that describe a photo"),
        lambda _a, m: describe(m.images or m.replied_images),
    ),
    CommandSpec("edit", t("Edit the attached photos as described"), lambda a, m: edit(a, m.images)),
    CommandSpec(
        "mask", t("Edit a photo where its mask (second photo) allows"), lambda a, m: mask(a, m.images)
    ),
    CommandSpec("model", t("Show or switch this chat's AI model"), lambda a, _m: model(a)),
    CommandSpec("system", t("Show or set this chat's system prompt"), lambda a, _m: system(a)),
    CommandSpec("voice", t("Answers also as voice messages: on or off"), lambda a, _m: voice(a)),
    CommandSpec("usage", t("What this chat has spent"), lambda a, _m: usage_from_text(a)),
    CommandSpec(
        "admin",
        t("Bot admin: access, budgets, usage"),
        lambda a, m: admin(a, m.address.platform),
        in_menu=False,
    ),
    CommandSpec("lang", t("Choose the language I answer in"), lambda a, _m: language(a)),
    CommandSpec("new", t("Start a fresh conversation"), lambda _a, _m: c.NewConversation()),
    CommandSpec("help", t("What this bot can do"), lambda _a, _m: c.Help()),
    CommandSpec("start", t("Welcome and help"), lambda _a, _m: c.Help(), in_menu=False),
)
_BY_NAME = {spec.name: spec for spec in COMMANDS}
_PROMPTED = (
    c.Chat,
    c.PhotoCaption,
    c.EditImages,
    c.GenerateImage,
    c.Imagine,
    c.SetSystemPrompt,
    c.MjPromptAnswer,
)

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
    addressed = msg.addressed
    if msg.audio is not None:
        return c.Transcribe(msg.audio) if addressed else c.Ignore()
    if msg.unsupported and not msg.images and not msg.documents:
        return unsupported_hint(msg.unsupported) if addressed else c.Ignore()
    parsed = split_command(msg.text.strip())
    if parsed is not None:
        name, args = parsed
        spec = _BY_NAME.get(name)
        if spec is None:
            return unknown_command(name) if addressed else c.Ignore()
        return spec.build(args, msg)
    if not addressed:
        return c.Ignore()
    text = msg.text.strip()
    if msg.documents:
        if not text:
            return c.Hint(t("What should I do with the file? Send it again with a question as its caption."))
        # Files make it a question, about the photos sent with them too.
        return c.Chat(text, msg.images, documents=msg.documents)
    if msg.images:
        if not text:
            return c.Hint(
                t("Tell me what to do with the photo: what should I change? (or /blend, /imagine <prompt>)")
            )
        return c.PhotoCaption(text, msg.images)
    if not text:
        return c.Hint(t("Yes? Write your question after the mention, or send /help."))
    return c.Chat(text)


def spoken(msg: Incoming, transcript: str) -> Incoming:
    """The message as if its transcript had been typed: a question, or a spoken command."""
    text = transcript.strip()
    first, _, rest = text.partition(" ")
    if first.lower().strip(",.:!") in SPOKEN_COMMANDS and rest.strip():
        text = f"/{first.lower().strip(',.:!')} {rest.strip()}"
    return replace(msg, text=text, audio=None, unsupported=None)


def unknown_command(name: str) -> c.Command:
    return c.Hint(t("Unknown command /{name}. Send /help for the list.", name=name))


# What adapters name in `Incoming.unsupported`, as the hint reads in each language;
# other names (a file's type, "PDF files") are shown as they are.
UNSUPPORTED_KINDS: dict[str, Text] = {
    "stickers": t("stickers"),
    "voice messages": t("voice messages"),
    "videos": t("videos"),
    "video messages": t("video messages"),
    "audio files": t("audio files"),
    "audio": t("audio"),
    "GIFs": t("GIFs"),
    "locations": t("locations"),
    "contacts": t("contacts"),
    "polls": t("polls"),
    "that file": t("that file"),
}


def unsupported_hint(kind: str) -> c.Command:
    return c.Hint(
        t(
            "I can't read {kind}. Send text or a voice message; or photos, text files or PDFs "
            "with a few words on what to do with them.",
            kind=UNSUPPORTED_KINDS.get(kind, kind),
        )
    )


def _button(payload: str) -> c.Command:
    prefix, _, rest = payload.partition(":")
    if prefix == MODEL_PREFIX and rest:
        return c.ChooseModel(rest)
    answer = _ANSWER_BUTTONS.get(prefix)
    if answer is not None:
        return answer(rest) if _ANSWER_KEY.fullmatch(rest) else _stale()
    if prefix == LANG_PREFIX and rest:
        return (
            c.SetLanguage(None) if rest == AUTO else c.SetLanguage(Lang(rest)) if rest in _LANGS else _stale()
        )
    task_id, _, index = rest.rpartition(":")
    if prefix == BUTTON_PREFIX and task_id and index == SEED_BUTTON:
        return c.MjSeed(task_id)
    number = index.removeprefix(PROMPT_BUTTON)
    if (
        prefix == BUTTON_PREFIX
        and task_id
        and index.startswith(PROMPT_BUTTON)
        and number in ("1", "2", "3", "4")
    ):
        return c.MjImaginePrompt(task_id, int(number))
    # isdigit() alone accepts "²" and other non-ASCII digits that int() rejects or misreads.
    if prefix != BUTTON_PREFIX or not task_id or not (index.isascii() and index.isdigit()) or len(index) > 3:
        return _stale()
    return c.MjButtonPress(task_id, int(index))


_ANSWER_BUTTONS: dict[str, Callable[[str], c.Command]] = {
    REGENERATE_PREFIX: c.Regenerate,
    STOP_PREFIX: c.StopAnswer,
    CONTINUE_PREFIX: c.ContinueAnswer,
}


def _stale() -> c.Command:
    return c.Hint(t("This button is no longer valid."))


_LANGS = frozenset(lang.value for lang in Lang)


def _check_limits(command: c.Command, msg: Incoming, limits: Limits) -> c.Command:
    if isinstance(command, c.Transcribe):
        refusal = audio_refusal(command.audio, limits.voice_max_seconds, limits.voice_max_bytes)
        return command if refusal is None else c.Hint(refusal)
    if isinstance(command, _PROMPTED) and len(command.prompt) > limits.max_prompt_chars:
        return c.Hint(
            t(
                "That prompt is {length} characters; the limit is {limit}. Please shorten it.",
                length=len(command.prompt),
                limit=limits.max_prompt_chars,
            )
        )
    if len(msg.images) > limits.max_images and not isinstance(command, c.Ignore | c.Hint):
        return c.Hint(
            t(
                "Too many photos: {count}. I can take at most {limit} at once.",
                count=len(msg.images),
                limit=limits.max_images,
            )
        )
    return command


def button_payload(task_id: str, index: int) -> str:
    return f"{BUTTON_PREFIX}:{task_id}:{index}"


def seed_payload(task_id: str) -> str:
    return f"{BUTTON_PREFIX}:{task_id}:{SEED_BUTTON}"


def regenerate_payload(answer_key: str) -> str:
    return f"{REGENERATE_PREFIX}:{answer_key}"


def stop_payload(answer_key: str) -> str:
    return f"{STOP_PREFIX}:{answer_key}"


def continue_payload(answer_key: str) -> str:
    return f"{CONTINUE_PREFIX}:{answer_key}"


def prompt_payload(task_id: str, number: int) -> str:
    return f"{BUTTON_PREFIX}:{task_id}:{PROMPT_BUTTON}{number}"


def ask_payload(request_id: str) -> str:
    return f"{ASK_PREFIX}:{request_id}"


def model_payload(model: str) -> str:
    """A /model button's payload (callers skip names too long for 64-byte callback data)."""
    return f"{MODEL_PREFIX}:{model}"


def language_payload(lang: Lang | None) -> str:
    """A /lang button's payload; None: back to the app's language."""
    return f"{LANG_PREFIX}:{AUTO if lang is None else lang.value}"


def menu() -> Sequence[CommandSpec]:
    """The commands shown in menus and /help."""
    return [spec for spec in COMMANDS if spec.in_menu]

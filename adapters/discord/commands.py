"""Slash commands, named and described as in `bot.router.COMMANDS`.

Each callback only collects its options and attachments and hands them to one sink;
acknowledging the interaction and running the core is the platform's job, the same for
every command. `command_from` turns options into the core's typed command with the
router's own builders (`bot.router.ask`, `blend`, `usage`…), so nothing downstream parses
words — the same function serves an interaction replayed after a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from typing import Any, Literal

import discord
from discord import app_commands
from discord.app_commands import locale_str

from bot import commands as c
from bot import router
from bot.i18n import Text, t
from bot.model import DocumentAttachment, ImageAttachment
from bot.router import COMMANDS

log = logging.getLogger(__name__)

Options = dict[str, str]
Images = tuple[ImageAttachment, ...]
Documents = tuple[DocumentAttachment, ...]
CommandSink = Callable[[discord.Interaction, str, Options, list[discord.Attachment]], Awaitable[None]]
Dimensions = Literal["portrait", "square", "landscape"]
Period = Literal["today", "week", "month", "all"]
USAGE_VIEWS = [
    app_commands.Choice(name=locale_str("totals for this chat"), value=c.UsageView.TOTALS.value),
    app_commands.Choice(name=locale_str("only my own usage"), value=c.UsageView.MINE.value),
    app_commands.Choice(name=locale_str("chart of the last 30 days"), value=c.UsageView.CHART.value),
    app_commands.Choice(name=locale_str("CSV export (admins)"), value=c.UsageView.EXPORT.value),
]
LANGUAGES = [
    app_commands.Choice(name="English", value="en"),
    app_commands.Choice(name="中文", value="zh"),
    app_commands.Choice(name=locale_str("automatic (my app's language)"), value="auto"),
]
LANGUAGE_SCOPES = [
    app_commands.Choice(name=locale_str("only me"), value="me"),
    app_commands.Choice(name=locale_str("this chat's default (admins)"), value="chat"),
]

# Telegram-flavoured wording that reads wrong in Discord's command picker.
_WORDING = {
    "blend": t("Midjourney: blend 2–5 images"),
    "describe": t("Midjourney: four prompts that describe an image"),
    "edit": t("Edit the attached images as described"),
}
# Kept out of Telegram's menu, yet Discord only delivers commands it has registered.
_SLASH_ONLY = {"admin"}
_DESCRIPTIONS: dict[str, Text] = {
    spec.name: _WORDING.get(spec.name, spec.description)
    for spec in COMMANDS
    if spec.in_menu or spec.name in _SLASH_ONLY
}


def _present(*attachments: discord.Attachment | None) -> list[discord.Attachment]:
    return [attachment for attachment in attachments if attachment is not None]


def command_from(  # noqa: PLR0912 - one case per slash command
    name: str, options: Mapping[str, str], images: Images, documents: Documents = ()
) -> c.Command:
    """The core's typed command for a slash command's options (live, or replayed after a restart)."""
    prompt = options.get("prompt", "")
    match name:
        case "ask":
            return router.ask(prompt, images, documents)
        case "image":
            return router.image(prompt)
        case "imagine":
            return router.imagine(prompt, images)
        case "blend":
            return router.blend(options.get("dimensions", "square"), images)
        case "describe":
            return router.describe(images)
        case "edit":
            return router.edit(prompt, images)
        case "mask":
            return router.mask(prompt, images)
        case "model":
            return router.model(options.get("model", ""))
        case "system":
            return router.system(prompt)
        case "usage":
            period = options.get("period")
            return router.usage(
                c.UsageView(options.get("show", c.UsageView.TOTALS.value)),
                c.UsagePeriod(period) if period else None,
            )
        case "admin":
            return router.admin(options.get("text", ""), "dc")
        case "voice":
            return router.voice(options.get("mode", ""))
        case "lang":
            scope = "chat" if options.get("scope") == "chat" else ""
            return router.language(f"{scope} {options.get('language', '')}")
        case "new":
            return c.NewConversation()
        case "help":
            return c.Help()
    return router.unknown_command(name)


def build_commands(sink: CommandSink) -> list[app_commands.Command[Any, ..., None]]:
    """One app command per menu command of the router; each hands its options to `sink`."""

    @app_commands.describe(
        prompt=locale_str("Your question"),
        image=locale_str("An image to ask about (optional)"),
        file=locale_str("A text file, source code or PDF to ask about (optional)"),
    )
    async def ask(
        interaction: discord.Interaction,
        prompt: str,
        image: discord.Attachment | None = None,
        file: discord.Attachment | None = None,
    ) -> None:
        await sink(interaction, "ask", {"prompt": prompt}, _present(image, file))

    @app_commands.describe(prompt=locale_str("What to draw"))
    async def image(interaction: discord.Interaction, prompt: str) -> None:
        await sink(interaction, "image", {"prompt": prompt}, [])

    @app_commands.describe(
        prompt=locale_str("What to draw (Midjourney parameters such as --ar 16:9 work)"),
        image=locale_str("A reference image (optional)"),
    )
    async def imagine(
        interaction: discord.Interaction, prompt: str, image: discord.Attachment | None = None
    ) -> None:
        await sink(interaction, "imagine", {"prompt": prompt}, _present(image))

    @app_commands.describe(
        image1=locale_str("First image"),
        image2=locale_str("Second image"),
        image3=locale_str("Third image (optional)"),
        image4=locale_str("Fourth image (optional)"),
        image5=locale_str("Fifth image (optional)"),
        dimensions=locale_str("Shape of the result (default: square)"),
    )
    async def blend(  # noqa: PLR0917 - discord.py reads options from the signature
        interaction: discord.Interaction,
        image1: discord.Attachment,
        image2: discord.Attachment,
        image3: discord.Attachment | None = None,
        image4: discord.Attachment | None = None,
        image5: discord.Attachment | None = None,
        dimensions: Dimensions = "square",
    ) -> None:
        images = _present(image1, image2, image3, image4, image5)
        await sink(interaction, "blend", {"dimensions": dimensions}, images)

    @app_commands.describe(image=locale_str("The image Midjourney should describe"))
    async def describe(interaction: discord.Interaction, image: discord.Attachment) -> None:
        await sink(interaction, "describe", {}, [image])

    @app_commands.describe(
        prompt=locale_str("What to change"),
        image=locale_str("The image to edit"),
        image2=locale_str("Another image (optional)"),
        image3=locale_str("Another image (optional)"),
        image4=locale_str("Another image (optional)"),
    )
    async def edit(  # noqa: PLR0917
        interaction: discord.Interaction,
        prompt: str,
        image: discord.Attachment,
        image2: discord.Attachment | None = None,
        image3: discord.Attachment | None = None,
        image4: discord.Attachment | None = None,
    ) -> None:
        await sink(interaction, "edit", {"prompt": prompt}, _present(image, image2, image3, image4))

    @app_commands.describe(
        prompt=locale_str("What to change"),
        image=locale_str("The image to edit"),
        mask=locale_str("Where to change it: transparent (or white) areas"),
    )
    async def mask(
        interaction: discord.Interaction, prompt: str, image: discord.Attachment, mask: discord.Attachment
    ) -> None:
        await sink(interaction, "mask", {"prompt": prompt}, [image, mask])

    @app_commands.describe(model=locale_str("The model to switch to (leave empty to see the choices)"))
    async def model(interaction: discord.Interaction, model: str | None = None) -> None:
        await sink(interaction, "model", {"model": model} if model else {}, [])

    @app_commands.describe(prompt=locale_str("The new system prompt, or 'reset' (leave empty to see it)"))
    async def system(interaction: discord.Interaction, prompt: str | None = None) -> None:
        await sink(interaction, "system", {"prompt": prompt} if prompt else {}, [])

    @app_commands.describe(
        period=locale_str("Which period (default: this month)"),
        show=locale_str("What to show (default: totals)"),
    )
    @app_commands.choices(show=USAGE_VIEWS)
    async def usage(
        interaction: discord.Interaction,
        period: Period | None = None,
        show: app_commands.Choice[str] | None = None,
    ) -> None:
        options = {"show": show.value} if show else {}
        await sink(interaction, "usage", options | ({"period": period} if period else {}), [])

    @app_commands.describe(
        text=locale_str("e.g. usage week · budget chat day cost 5 · allow dc:123 (empty: help)")
    )
    async def admin(interaction: discord.Interaction, text: str | None = None) -> None:
        await sink(interaction, "admin", {"text": text} if text else {}, [])

    @app_commands.describe(mode=locale_str("on: answers also come back as voice messages; off: text only"))
    async def voice(interaction: discord.Interaction, mode: Literal["on", "off"] | None = None) -> None:
        await sink(interaction, "voice", {"mode": mode} if mode else {}, [])

    @app_commands.describe(
        language=locale_str("en, zh, or auto (your app's language); empty: show the current one"),
        scope=locale_str("me (default) or chat: the chat's default, for its admins"),
    )
    @app_commands.choices(language=LANGUAGES, scope=LANGUAGE_SCOPES)
    async def lang(
        interaction: discord.Interaction,
        language: app_commands.Choice[str] | None = None,
        scope: app_commands.Choice[str] | None = None,
    ) -> None:
        options = {"language": language.value} if language else {}
        await sink(interaction, "lang", options | ({"scope": scope.value} if scope else {}), [])

    async def new(interaction: discord.Interaction) -> None:
        await sink(interaction, "new", {}, [])

    async def help(interaction: discord.Interaction) -> None:
        await sink(interaction, "help", {}, [])

    callbacks: dict[str, Callable[..., Coroutine[Any, Any, None]]] = {
        "ask": ask,
        "image": image,
        "imagine": imagine,
        "blend": blend,
        "describe": describe,
        "edit": edit,
        "mask": mask,
        "model": model,
        "system": system,
        "usage": usage,
        "admin": admin,
        "voice": voice,
        "lang": lang,
        "new": new,
        "help": help,
    }
    missing = set(_DESCRIPTIONS) - set(callbacks)
    if missing:
        # A command added to the router must be given its options here too.
        log.warning("router commands without a Discord slash command: %s", ", ".join(sorted(missing)))
    return [
        # Descriptions are translated by `adapters.discord.locales.CatalogTranslator` at sync.
        app_commands.Command(name=name, description=locale_str(_DESCRIPTIONS[name].msgid), callback=callback)
        for name, callback in callbacks.items()
        if name in _DESCRIPTIONS
    ]


async def register(tree: app_commands.CommandTree[discord.Client], guild_ids: Sequence[int]) -> None:
    """Upload the commands: to the given guilds (instant), else globally (may take an hour)."""
    if guild_ids:
        for guild_id in guild_ids:
            synced = await tree.sync(guild=discord.Object(guild_id))
            log.info("registered %d slash commands in guild %s", len(synced), guild_id)
    else:
        synced = await tree.sync()
        log.info("registered %d global slash commands", len(synced))


def add_to_tree(
    tree: app_commands.CommandTree[discord.Client],
    commands: Sequence[app_commands.Command[Any, ..., None]],
    guild_ids: Sequence[int],
) -> None:
    guilds = [discord.Object(guild_id) for guild_id in guild_ids]
    for command in commands:
        if guilds:
            tree.add_command(command, guilds=guilds)
        else:
            tree.add_command(command)

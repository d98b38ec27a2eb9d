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

from bot import commands as c
from bot import router
from bot.model import ImageAttachment
from bot.router import COMMANDS

log = logging.getLogger(__name__)

Options = dict[str, str]
Images = tuple[ImageAttachment, ...]
CommandSink = Callable[[discord.Interaction, str, Options, list[discord.Attachment]], Awaitable[None]]
Dimensions = Literal["portrait", "square", "landscape"]
Period = Literal["today", "week", "month", "all"]
USAGE_VIEWS = [
    app_commands.Choice(name="totals for this chat", value=c.UsageView.TOTALS.value),
    app_commands.Choice(name="only my own usage", value=c.UsageView.MINE.value),
    app_commands.Choice(name="chart of the last 30 days", value=c.UsageView.CHART.value),
    app_commands.Choice(name="CSV export (admins)", value=c.UsageView.EXPORT.value),
]

# Telegram-flavoured wording that reads wrong in Discord's command picker.
_WORDING = {"blend": "Midjourney: blend 2–5 images", "edit": "Edit the attached images as described"}
# Kept out of Telegram's menu, yet Discord only delivers commands it has registered.
_SLASH_ONLY = {"admin"}
_DESCRIPTIONS = {
    spec.name: _WORDING.get(spec.name, spec.description)
    for spec in COMMANDS
    if spec.in_menu or spec.name in _SLASH_ONLY
}


def _present(*attachments: discord.Attachment | None) -> list[discord.Attachment]:
    return [attachment for attachment in attachments if attachment is not None]


def command_from(name: str, options: Mapping[str, str], images: Images) -> c.Command:
    """The core's typed command for a slash command's options (live, or replayed after a restart)."""
    prompt = options.get("prompt", "")
    match name:
        case "ask":
            return router.ask(prompt, images)
        case "image":
            return router.image(prompt)
        case "imagine":
            return router.imagine(prompt, images)
        case "blend":
            return router.blend(options.get("dimensions", "square"), images)
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
        case "new":
            return c.NewConversation()
        case "help":
            return c.Help()
    return c.Hint(f"Unknown command /{name}. Send /help for the list.")


def build_commands(sink: CommandSink) -> list[app_commands.Command[Any, ..., None]]:
    """One app command per menu command of the router; each hands its options to `sink`."""

    @app_commands.describe(prompt="Your question", image="An image to ask about (optional)")
    async def ask(
        interaction: discord.Interaction, prompt: str, image: discord.Attachment | None = None
    ) -> None:
        await sink(interaction, "ask", {"prompt": prompt}, _present(image))

    @app_commands.describe(prompt="What to draw")
    async def image(interaction: discord.Interaction, prompt: str) -> None:
        await sink(interaction, "image", {"prompt": prompt}, [])

    @app_commands.describe(
        prompt="What to draw (Midjourney parameters such as --ar 16:9 work)",
        image="A reference image (optional)",
    )
    async def imagine(
        interaction: discord.Interaction, prompt: str, image: discord.Attachment | None = None
    ) -> None:
        await sink(interaction, "imagine", {"prompt": prompt}, _present(image))

    @app_commands.describe(
        image1="First image",
        image2="Second image",
        image3="Third image (optional)",
        image4="Fourth image (optional)",
        image5="Fifth image (optional)",
        dimensions="Shape of the result (default: square)",
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

    @app_commands.describe(
        prompt="What to change",
        image="The image to edit",
        image2="Another image (optional)",
        image3="Another image (optional)",
        image4="Another image (optional)",
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
        prompt="What to change",
        image="The image to edit",
        mask="Where to change it: transparent (or white) areas",
    )
    async def mask(
        interaction: discord.Interaction, prompt: str, image: discord.Attachment, mask: discord.Attachment
    ) -> None:
        await sink(interaction, "mask", {"prompt": prompt}, [image, mask])

    @app_commands.describe(model="The model to switch to (leave empty to see the choices)")
    async def model(interaction: discord.Interaction, model: str | None = None) -> None:
        await sink(interaction, "model", {"model": model} if model else {}, [])

    @app_commands.describe(prompt="The new system prompt, or 'reset' (leave empty to see it)")
    async def system(interaction: discord.Interaction, prompt: str | None = None) -> None:
        await sink(interaction, "system", {"prompt": prompt} if prompt else {}, [])

    @app_commands.describe(period="Which period (default: this month)", show="What to show (default: totals)")
    @app_commands.choices(show=USAGE_VIEWS)
    async def usage(
        interaction: discord.Interaction,
        period: Period | None = None,
        show: app_commands.Choice[str] | None = None,
    ) -> None:
        options = {"show": show.value} if show else {}
        await sink(interaction, "usage", options | ({"period": period} if period else {}), [])

    @app_commands.describe(text="e.g. usage week · budget chat day cost 5 · allow dc:123 (empty: help)")
    async def admin(interaction: discord.Interaction, text: str | None = None) -> None:
        await sink(interaction, "admin", {"text": text} if text else {}, [])

    async def new(interaction: discord.Interaction) -> None:
        await sink(interaction, "new", {}, [])

    async def help(interaction: discord.Interaction) -> None:
        await sink(interaction, "help", {}, [])

    callbacks: dict[str, Callable[..., Coroutine[Any, Any, None]]] = {
        "ask": ask,
        "image": image,
        "imagine": imagine,
        "blend": blend,
        "edit": edit,
        "mask": mask,
        "model": model,
        "system": system,
        "usage": usage,
        "admin": admin,
        "new": new,
        "help": help,
    }
    missing = set(_DESCRIPTIONS) - set(callbacks)
    if missing:
        # A command added to the router must be given its options here too.
        log.warning("router commands without a Discord slash command: %s", ", ".join(sorted(missing)))
    return [
        app_commands.Command(name=name, description=_DESCRIPTIONS[name], callback=callback)
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

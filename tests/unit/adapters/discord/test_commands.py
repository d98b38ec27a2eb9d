"""Slash command definitions: what Discord will be sent at registration."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from adapters.discord.commands import add_to_tree, build_commands, command_from
from bot import commands as c
from bot.router import COMMANDS

# Not in Telegram's menu, but Discord delivers only registered commands.
SLASH_ONLY = {"admin"}


async def _sink(*_: Any) -> None:
    return None


def payloads(guild_ids: tuple[int, ...] = ()) -> dict[str, dict[str, Any]]:
    tree = app_commands.CommandTree(discord.Client(intents=discord.Intents.none()))
    commands = build_commands(_sink)
    add_to_tree(tree, commands, guild_ids)
    return {command.name: command.to_dict(tree) for command in commands}


async def test_every_menu_command_of_the_router_is_a_slash_command() -> None:
    defined = payloads()
    assert set(defined) == {spec.name for spec in COMMANDS if spec.in_menu} | SLASH_ONLY
    for payload in defined.values():
        assert 1 <= len(payload["description"]) <= 100


def _options(payload: dict[str, Any]) -> dict[str, tuple[int, bool]]:
    return {o["name"]: (o["type"], o.get("required", False)) for o in payload.get("options", [])}


async def test_options() -> None:
    defined = payloads()
    string, attachment = 3, 11
    assert _options(defined["ask"]) == {
        "prompt": (string, True),
        "image": (attachment, False),
        "file": (attachment, False),
    }
    assert _options(defined["image"]) == {"prompt": (string, True)}
    assert _options(defined["imagine"]) == {"prompt": (string, True), "image": (attachment, False)}
    assert _options(defined["edit"]) == {
        "prompt": (string, True),
        "image": (attachment, True),
        "image2": (attachment, False),
        "image3": (attachment, False),
        "image4": (attachment, False),
    }
    blend = _options(defined["blend"])
    assert blend["image1"] == (attachment, True) and blend["image2"] == (attachment, True)
    assert blend["image5"] == (attachment, False) and blend["dimensions"] == (string, False)
    (dimensions,) = [o for o in defined["blend"]["options"] if o["name"] == "dimensions"]
    assert [c["value"] for c in dimensions["choices"]] == ["portrait", "square", "landscape"]
    assert _options(defined["mask"]) == {
        "prompt": (string, True),
        "image": (attachment, True),
        "mask": (attachment, True),
    }
    assert _options(defined["model"]) == {"model": (string, False)}
    assert _options(defined["system"]) == {"prompt": (string, False)}
    usage = _options(defined["usage"])
    assert usage == {"period": (string, False), "show": (string, False)}
    assert _options(defined["admin"]) == {"text": (string, False)}
    for name in ("new", "help"):
        assert _options(defined[name]) == {}


async def _built(name: str, *args: Any) -> list[tuple[dict[str, str], c.Command]]:
    """Call one slash command's callback; what the sink received, and the command it makes."""
    received: list[tuple[dict[str, str], c.Command]] = []

    async def sink(_interaction: Any, name: str, options: dict[str, str], _files: Any) -> None:
        received.append((options, command_from(name, options, ())))

    (command,) = [command for command in build_commands(sink) if command.name == name]
    await command.callback(None, *args)  # type: ignore[arg-type]
    return received


async def test_admin_text_is_parsed_by_the_router_into_a_typed_command() -> None:
    ((options, built),) = await _built("admin", "budget chat day images 10")
    assert options == {"text": "budget chat day images 10"}
    assert isinstance(built, c.AdminBudget) and built.change is not None
    assert str(built.change.key) == "chat.day.images" and built.change.amount == 10
    ((_, bare),) = await _built("admin")
    assert bare == c.AdminHelp()


async def test_usage_options_become_a_typed_command_without_words() -> None:
    choice = app_commands.Choice(name="only my own usage", value="me")
    ((options, built),) = await _built("usage", "week", choice)
    assert built == c.ShowUsage(c.UsageView.MINE, c.UsagePeriod.WEEK)
    assert options == {"show": "me", "period": "week"}
    ((_, default),) = await _built("usage")
    assert default == c.ShowUsage(c.UsageView.TOTALS, c.UsagePeriod.MONTH)


async def test_guild_registration_puts_commands_on_those_guilds() -> None:
    tree = app_commands.CommandTree(discord.Client(intents=discord.Intents.none()))
    add_to_tree(tree, build_commands(_sink), (500, 501))
    assert tree.get_commands() == []
    assert {c.name for c in tree.get_commands(guild=discord.Object(500))} == set(payloads())

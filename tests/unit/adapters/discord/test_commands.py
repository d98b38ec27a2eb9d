"""Slash command definitions: what Discord will be sent at registration."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from adapters.discord.commands import add_to_tree, build_commands, usage_words
from bot import commands as c
from bot.model import ChatAddress, ChatKind, Incoming, User
from bot.router import COMMANDS, Limits, route

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
    assert _options(defined["ask"]) == {"prompt": (string, True), "image": (attachment, False)}
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


async def test_admin_hands_its_text_to_the_router_as_telegram_users_type_it() -> None:
    received: list[tuple[str, list[tuple[str, str]]]] = []

    async def sink(_interaction: Any, name: str, options: list[tuple[str, str]], _files: Any) -> None:
        received.append((name, options))

    (admin,) = [command for command in build_commands(sink) if command.name == "admin"]
    await admin.callback(None, "budget chat day images 10")  # type: ignore[arg-type]
    await admin.callback(None)  # type: ignore[arg-type]
    assert received == [("admin", [("text", "budget chat day images 10")]), ("admin", [])]

    def incoming(options: list[tuple[str, str]]) -> Incoming:
        address = ChatAddress("dc", "600", ChatKind.GROUP)
        return Incoming(address, User("101", "alice"), command="admin", options=tuple(options))

    assert route(incoming(received[0][1]), Limits()) == c.Admin("budget chat day images 10")
    assert route(incoming(received[1][1]), Limits()) == c.Admin("")


async def test_guild_registration_puts_commands_on_those_guilds() -> None:
    tree = app_commands.CommandTree(discord.Client(intents=discord.Intents.none()))
    add_to_tree(tree, build_commands(_sink), (500, 501))
    assert tree.get_commands() == []
    assert {c.name for c in tree.get_commands(guild=discord.Object(500))} == set(payloads())


def test_usage_options_become_the_words_telegram_users_type() -> None:
    assert usage_words(None, None) == ""
    assert usage_words("week", None) == "week"
    assert usage_words("week", "totals") == "week"
    assert usage_words("today", "me") == "me today"
    assert usage_words(None, "me") == "me"
    assert usage_words("all", "chart") == "chart"
    assert usage_words(None, "export") == "export"

"""Slash command descriptions and choices in the reader's language, from our gettext catalogs.

discord.py hands every command, option and choice string to the tree's translator when
it syncs; Discord then shows each user the text for their client's locale. Command and
option *names* stay English: they are what people type, and what `/help` and the README say.
"""

from __future__ import annotations

import discord
from discord import app_commands

from bot.i18n import Catalog, Lang
from bot.i18n.locale import from_platform

_NAMED = frozenset(
    {
        app_commands.TranslationContextLocation.command_name,
        app_commands.TranslationContextLocation.group_name,
        app_commands.TranslationContextLocation.parameter_name,
    }
)


class CatalogTranslator(app_commands.Translator):
    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        lang = from_platform(locale.value)
        if lang is None or lang is Lang.EN or context.location in _NAMED:
            return None
        translated = self._catalog.gettext(lang, string.message)
        return translated if translated != string.message else None

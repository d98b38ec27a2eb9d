"""Translations read from the gettext catalogs shipped in `bot/locales/<lang>/LC_MESSAGES/`.

The `.po` files are the source of truth. They are parsed with Babel and compiled in memory
at start-up (a few milliseconds for a few hundred messages), so no compiled `.mo` has to be
kept in step with them; plural rules come from each catalog's header, the gettext way.
English is the msgid itself: its catalog exists for the completeness checks.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from gettext import GNUTranslations, NullTranslations
from importlib.resources import files

from babel.messages.catalog import Catalog as PoCatalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.i18n.locale import Lang

DOMAIN = "messages"


def po_path(lang: Lang) -> str:
    return f"locales/{lang.value}/LC_MESSAGES/{DOMAIN}.po"


def read_catalog(lang: Lang) -> PoCatalog:
    """The parsed `.po` of `lang`, from the installed package's own files."""
    with files("bot").joinpath(po_path(lang)).open("rb") as po:
        return read_po(po, locale=lang.value, domain=DOMAIN)


def compile_catalog(po: PoCatalog) -> GNUTranslations:
    """The catalog as the standard library's translations; fuzzy (unreviewed) entries left out."""
    buffer = io.BytesIO()
    write_mo(buffer, po, use_fuzzy=False)
    buffer.seek(0)
    return GNUTranslations(buffer)


@dataclass(frozen=True)
class Catalog:
    """The translations of each language; a missing entry falls back to the English msgid."""

    translations: Mapping[Lang, NullTranslations]

    @classmethod
    def load(cls) -> Catalog:
        return cls({lang: compile_catalog(read_catalog(lang)) for lang in Lang})

    def gettext(self, lang: Lang, msgid: str) -> str:
        return str(self._of(lang).gettext(msgid))

    def ngettext(self, lang: Lang, singular: str, plural: str, n: int) -> str:
        return str(self._of(lang).ngettext(singular, plural, n))

    def _of(self, lang: Lang) -> NullTranslations:
        return self.translations.get(lang) or NullTranslations()

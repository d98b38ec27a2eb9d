"""Translations read from the gettext catalogs shipped in `bot/locales/<lang>/LC_MESSAGES/`.

The `.po` files are the source of truth. They are parsed with Babel and compiled in memory
the first time a language is used (tens of milliseconds for a few hundred messages), so no
compiled `.mo` has to be kept in step with them; plural rules come from each catalog's
header, the gettext way. English is the msgid itself: its catalog exists for the
completeness checks and is never read at run time.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from gettext import GNUTranslations, NullTranslations
from importlib.resources import files

from babel.messages.catalog import Catalog as PoCatalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.i18n.locale import DEFAULT, Lang

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


class _OnFirstUse(Mapping[Lang, NullTranslations]):
    """The translations of these languages, each read and compiled when first asked for."""

    def __init__(self, langs: Iterable[Lang]) -> None:
        self._langs = frozenset(langs)
        self._loaded: dict[Lang, NullTranslations] = {}

    def __getitem__(self, lang: Lang) -> NullTranslations:
        if lang not in self._langs:
            raise KeyError(lang)
        if lang not in self._loaded:
            self._loaded[lang] = compile_catalog(read_catalog(lang))
        return self._loaded[lang]

    def __iter__(self) -> Iterator[Lang]:
        return iter(self._langs)

    def __len__(self) -> int:
        return len(self._langs)


@dataclass(frozen=True)
class Catalog:
    """The translations of each language; a missing entry falls back to the English msgid."""

    translations: Mapping[Lang, NullTranslations]

    @classmethod
    def load(cls) -> Catalog:
        """Every language but English (the msgids themselves), each read when first used."""
        return cls(_OnFirstUse(lang for lang in Lang if lang is not DEFAULT))

    def gettext(self, lang: Lang, msgid: str) -> str:
        return str(self._of(lang).gettext(msgid))

    def ngettext(self, lang: Lang, singular: str, plural: str, n: int) -> str:
        return str(self._of(lang).ngettext(singular, plural, n))

    def _of(self, lang: Lang) -> NullTranslations:
        return self.translations.get(lang) or NullTranslations()

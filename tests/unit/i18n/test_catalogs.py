"""The gettext catalogs: complete in both languages, placeholders that match, in step with the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Message
from babel.messages.extract import extract_from_dir

from bot.i18n import Catalog, Lang
from bot.i18n.catalog import read_catalog

ROOT = Path(__file__).resolve().parents[3]
PLACEHOLDER = re.compile(r"\{(\w*)\}")
# As in babel.cfg: t("…"), tn("…", "…", n=…) and discord.py's locale_str("…").
KEYWORDS = {"t": None, "tn": (1, 2), "locale_str": None}


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def forms(message: Message) -> tuple[list[str], list[str]]:
    """(msgid forms, msgstr forms) of a message, plural or not."""
    ids = list(message.id) if isinstance(message.id, tuple | list) else [message.id]
    strings = list(message.string) if isinstance(message.string, tuple | list) else [message.string]
    return ids, strings


def extracted() -> set[str]:
    """Every translatable text in the code, found the way `pybabel extract` (babel.cfg) finds it."""
    found = set()
    for folder in ("bot", "adapters"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / folder, [("**.py", "python")], keywords=KEYWORDS
        ):
            found.add(message[0] if isinstance(message, tuple | list) else message)
    return found


@pytest.mark.parametrize("lang", list(Lang))
def test_every_text_in_the_code_is_in_each_catalog(lang: Lang) -> None:
    in_code = extracted()
    in_catalog = {forms(m)[0][0] for m in read_catalog(lang) if m.id}
    assert in_code - in_catalog == set(), f"texts missing from {lang.value}: run pybabel update"
    assert in_catalog - in_code == set(), f"texts in {lang.value} that the code no longer has"


@pytest.mark.parametrize("lang", list(Lang))
def test_every_message_is_translated_with_the_same_placeholders(lang: Lang) -> None:
    problems = []
    for message in read_catalog(lang):
        if not message.id:
            continue
        ids, strings = forms(message)
        if lang is Lang.EN and not any(strings):
            continue  # an empty English entry shows its msgid, which is the English text
        if message.fuzzy or not all(strings):
            problems.append(f"untranslated: {ids[0]!r}")
            continue
        wanted = placeholders(ids[-1])
        for string in strings:
            found = placeholders(string)
            # A singular form may leave out the count ("an image link"); nothing else may differ.
            ok = found == wanted if len(ids) == 1 else (wanted - {"n"}) <= found <= wanted
            if not ok:
                problems.append(f"{ids[0]!r} → {string!r}")
    assert problems == []


def test_plural_forms_follow_each_language() -> None:
    assert read_catalog(Lang.EN).num_plurals == 2
    assert read_catalog(Lang.ZH).num_plurals == 1


def test_the_catalogs_load_from_the_package_and_translate() -> None:
    catalog = Catalog.load()
    assert catalog.gettext(Lang.ZH, "Start a fresh conversation") == "开始新的对话"
    assert catalog.gettext(Lang.EN, "Start a fresh conversation") == "Start a fresh conversation"
    assert catalog.ngettext(Lang.ZH, "{n} image", "{n} images", 5) == "{n} 张图片"
    assert catalog.gettext(Lang.ZH, "not in any catalog") == "not in any catalog"


def test_the_catalogs_ship_with_the_package() -> None:
    """A fresh install (not only a checkout) must bring the .po files: they are package data."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"locales/*/LC_MESSAGES/*.po"' in text
    for lang in Lang:
        assert (ROOT / "bot" / "locales" / lang.value / "LC_MESSAGES" / "messages.po").is_file()

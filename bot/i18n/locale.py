"""The languages the bot speaks, and how one is chosen for a reader."""

from __future__ import annotations

import os
from collections.abc import Mapping
from enum import StrEnum


class Lang(StrEnum):
    """A catalog of ours; the value is its Babel locale identifier (and its folder)."""

    EN = "en"
    ZH = "zh_Hans"

    @property
    def babel(self) -> str:
        return self.value


DEFAULT = Lang.EN

# What `/lang` accepts, besides "auto": short names people type.
_NAMES = {
    "en": Lang.EN,
    "english": Lang.EN,
    "zh": Lang.ZH,
    "cn": Lang.ZH,
    "中文": Lang.ZH,
    "zh_hans": Lang.ZH,
}


def from_platform(code: str | None) -> Lang | None:
    """Telegram's `language_code` ("zh-hans", "en") or Discord's locale ("zh-CN", "en-US").

    Every Chinese variant gets the Simplified catalog (the only Chinese one we have): easier
    to read for a Traditional-script reader than English.
    """
    if not code:
        return None
    base = code.replace("_", "-").split("-", 1)[0].lower()
    return {"zh": Lang.ZH, "en": Lang.EN}.get(base)


def parse_name(word: str) -> Lang | None:
    """A language as typed after `/lang` ("zh", "English", "中文"); None when unknown."""
    return _NAMES.get(word.strip().lower().replace("-", "_"))


def choose(user: Lang | None, chat: Lang | None, platform: Lang | None) -> Lang:
    """A person's own `/lang` wins, then the chat's (set by its admins), then their app's language."""
    return user or chat or platform or DEFAULT


def terminal_language(environ: Mapping[str, str] = os.environ) -> str | None:
    """The language the terminal asks programs to speak (`zh_CN.UTF-8`), if any.

    Read as gettext reads it. Not babel.default_locale: it also looks at LC_CTYPE, which
    Python itself sets to C.UTF-8 when the asked-for locale is not installed (PEP 538), as
    in many containers, and that would hide the LANG the person set.
    """
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        if value := environ.get(name, "").split(":")[0]:
            return value
    return None

"""A translatable text as a value: an English msgid with named parameters, rendered later.

Code deep in the core (errors, hints, use cases) does not know who will read what it
writes; it makes a `Text` and the edge renders it in the reader's language (`bot.i18n.render`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal


@dataclass(frozen=True)
class Money:
    """An amount in a currency, shown with `decimals` places in the reader's locale."""

    amount: Decimal
    currency: str
    decimals: int


@dataclass(frozen=True)
class Text:
    """An English sentence with `{named}` placeholders, and the values to put in them.

    `msgid` must be a literal at the call site (`t("…")`) so `pybabel extract` finds it.
    """

    msgid: str
    params: tuple[tuple[str, ParamValue], ...] = field(default=())
    # Set by `tn`: the English plural, chosen by the `n` param under each language's rules.
    plural: str | None = None

    def __str__(self) -> str:
        # Logs, exception messages and tests: the English text, formatted as English readers see it.
        from bot.i18n.render import english

        return english(self)


ParamValue = str | int | float | Decimal | Money | date | datetime | Text


def t(msgid: str, /, **params: ParamValue) -> Text:
    """A translatable text; `pybabel extract -k t` collects every literal passed here."""
    return Text(msgid, tuple(sorted(params.items())))


def tn(singular: str, plural: str, /, n: int, **params: ParamValue) -> Text:
    """A text with plural forms, chosen by `n` (also the `{n}` placeholder); `-k tn:1,2`."""
    return Text(singular, tuple(sorted({**params, "n": n}.items())), plural)


Say = str | Text
"""A reply as handlers write it: a `Text` to translate, or a `str` shown as is (model output)."""

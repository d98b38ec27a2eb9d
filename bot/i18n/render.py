"""Rendering a `Text` for one reader: translated, its numbers, money and dates in their locale."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from babel.dates import format_datetime, format_skeleton
from babel.numbers import format_currency, format_decimal

from bot.i18n.catalog import Catalog
from bot.i18n.locale import DEFAULT, Lang, choose, from_platform
from bot.i18n.text import Money, ParamValue, Say, Text


@dataclass(frozen=True)
class Tr:
    """One reader's language and the catalogs; call it on a `Text` to get their string."""

    catalog: Catalog
    lang: Lang = DEFAULT

    @classmethod
    def of_app(cls, catalog: Catalog, code: str | None) -> Tr:
        """For a reader known only by their app's language code ("zh-hans", "en-US", a
        terminal's "zh_CN.UTF-8"), before or without a `/lang`: that language, else English."""
        return cls(catalog, choose(None, None, from_platform(code)))

    def __call__(self, text: Say) -> str:
        if isinstance(text, str):
            return text
        params = dict(text.params)
        if text.plural is not None:
            n = params.get("n")
            count = n if isinstance(n, int) else 0
            template = self.catalog.ngettext(self.lang, text.msgid, text.plural, count)
            english = text.msgid if count == 1 else text.plural
        else:
            template = self.catalog.gettext(self.lang, text.msgid)
            english = text.msgid
        values = {name: self.value(value) for name, value in params.items()}
        try:
            return template.format(**values)
        except (KeyError, IndexError, ValueError):
            # A broken translation must not cost the reply: the English text always fits.
            return english.format(**values)

    def value(self, value: ParamValue) -> str:
        match value:
            case Text():
                return self(value)
            case Money():
                return self.money(value)
            case bool() | str():
                return str(value)
            case int() | Decimal():
                return self.number(value)
            case float():
                return self.number(Decimal(str(value)))
            case datetime():
                return format_datetime(value, "medium", locale=self.lang.babel)
            case date():
                return self.date(value)

    def number(self, value: int | Decimal) -> str:
        """Grouped for the locale; a Decimal keeps the places it was rounded to ("30.0")."""
        exponent = value.as_tuple().exponent if isinstance(value, Decimal) else 0
        places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        pattern = "#,##0." + "0" * places if places else "#,##0"
        return format_decimal(value, format=pattern, locale=self.lang.babel)

    def money(self, money: Money) -> str:
        decimals = "." + "0" * money.decimals if money.decimals > 0 else ""
        amount = money.amount.quantize(Decimal(1).scaleb(-money.decimals))
        return format_currency(
            amount, money.currency, format="¤#,##0" + decimals, locale=self.lang.babel, currency_digits=False
        )

    def date(self, value: date, skeleton: str = "MMMd") -> str:
        """A date from a CLDR skeleton, in the reader's order: "Dec 2" / "12月2日" by default."""
        return format_skeleton(skeleton, value, locale=self.lang.babel)


_ENGLISH = Tr(Catalog({}), DEFAULT)


def english(text: Say) -> str:
    """The English text (the msgids), with no catalog needed: logs, errors' `user_message`."""
    return _ENGLISH(text)

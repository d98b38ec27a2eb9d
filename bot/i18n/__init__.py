"""Every user-facing text in English and Simplified Chinese.

How to write a text the user reads:

    from bot.i18n import t
    raise UserError(t("{name} is not available here. Send /model to see the choices.", name=wanted))
    await req.out.send_text(req.tr(t("🤖 This chat now uses {model}.", model=match)))

- `t(msgid, **params)` makes a `Text` value: the English sentence, whole, as one literal,
  with `{named}` placeholders (never glue sentences from pieces). Numbers, `Money` and dates
  passed as params are formatted for the reader's locale.
- `tn("{n} request", "{n} requests", n=count)`: plural forms, by each language's rules.
- Errors (`bot.errors.Reply`) and hints carry a `Text`; the core renders it for the reader.
- Handlers render with `req.tr` (a `Tr`: the reader's language and the catalogs).
- After adding texts, update the catalogs (README "Languages" has the two `pybabel`
  commands), translate the new `zh_Hans` entries (new `en` ones may stay empty: the msgid is English);
  `tests/unit/i18n/` fails while a text is missing, untranslated, or its placeholders differ,
  and when a reply, hint or error is handed a bare English literal instead of a `t(...)`.

Languages are chosen per reader: their own `/lang` > the chat's (its admins) > the
platform's (Telegram `language_code`, Discord `locale`) > English (`bot.i18n.locale.choose`).
"""

from bot.i18n.catalog import Catalog
from bot.i18n.locale import Lang
from bot.i18n.render import Tr
from bot.i18n.text import Money, Say, Text, t, tn

__all__ = ["Catalog", "Lang", "Money", "Say", "Text", "Tr", "t", "tn"]

"""The price table: what a usage event costs, decided when the event is recorded.

Shipped defaults live in `bot/usage/prices.toml`; an operator's file (PRICES_FILE) is merged
over them key by key. Costs are stored with each event, so changing a price never
rewrites history. A model the table does not know costs nothing and is reported as
unpriced (its event is stored without a currency).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

from babel.numbers import get_currency_precision

from bot.errors import ConfigError
from bot.i18n.text import Money

DEFAULT_QUALITY = "default"
MJ_PREFIX = "midjourney-"
# Stored costs have 8 decimal places (storage.tables.Money).
_STORED = Decimal("0.00000001")
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "CNY": "¥", "JPY": "¥", "RUB": "₽"}


@dataclass(frozen=True)
class TokenPrice:
    input: Decimal
    output: Decimal


@dataclass(frozen=True)
class PriceTable:
    currency: str
    token_unit: int
    decimals: int
    tokens: Mapping[str, TokenPrice]
    images: Mapping[str, Mapping[str, Decimal]]
    midjourney: Mapping[str, Decimal]
    # Speech to text: per minute of audio; text to speech: per `character_unit` characters.
    transcription: Mapping[str, Decimal] = field(default_factory=dict)
    speech: Mapping[str, Decimal] = field(default_factory=dict)
    character_unit: int = 1_000_000

    def cost(
        self,
        model: str,
        *,
        input_tokens: int = 0,
        output_tokens: int = 0,
        images: int = 0,
        mj_tasks: int = 0,
        quality: str | None = None,
    ) -> Decimal | None:
        """The price of one call, or None when the model is not in the table."""
        kind = self._kind_of(model)
        if kind == "midjourney":
            return _stored(self.midjourney[model.removeprefix(MJ_PREFIX).lower()] * mj_tasks)
        if kind == "images":
            per_quality = self.images[model]
            price = per_quality.get((quality or DEFAULT_QUALITY).lower()) or per_quality.get(
                DEFAULT_QUALITY, Decimal(0)
            )
            return _stored(price * images)
        if kind == "tokens":
            per_token = self._token_price(model)
            assert per_token is not None
            raw = per_token.input * input_tokens + per_token.output * output_tokens
            return _stored(raw / self.token_unit)
        return None

    def transcription_cost(self, model: str, seconds: float) -> Decimal | None:
        """Audio is billed by the minute, by the second's fraction (None: not in the table)."""
        per_minute = self.transcription.get(model)
        if per_minute is None:
            return None
        return _stored(per_minute * Decimal(str(round(seconds, 3))) / 60)

    def speech_cost(self, model: str, characters: int) -> Decimal | None:
        per_unit = self.speech.get(model)
        if per_unit is None:
            return None
        return _stored(per_unit * characters / self.character_unit)

    @property
    def minor_unit(self) -> Decimal:
        """The currency's smallest amount (0.01 USD, 1 JPY): no money limit may be finer."""
        return Decimal(10) ** -get_currency_precision(self.currency.upper())

    def amount(self, amount: Decimal, decimals: int | None = None) -> Money:
        """`amount` in this table's currency, for the reader's locale to format (`bot.i18n`)."""
        return Money(amount, self.currency.upper(), self.decimals if decimals is None else decimals)

    def money(self, amount: Decimal, decimals: int | None = None) -> str:
        """`$0.0421`, or `0.0421 CHF` for a currency without a symbol here."""
        shown = f"{amount:,.{self.decimals if decimals is None else decimals}f}"
        symbol = _SYMBOLS.get(self.currency.upper())
        return f"{symbol}{shown}" if symbol else f"{shown} {self.currency}"

    def _kind_of(self, model: str) -> str | None:
        if model.lower().startswith(MJ_PREFIX) and model[len(MJ_PREFIX) :].lower() in self.midjourney:
            return "midjourney"
        if model in self.images:
            return "images"
        if self._token_price(model) is not None:
            return "tokens"
        return None

    def _token_price(self, model: str) -> TokenPrice | None:
        """Exact name first, then the longest entry the name extends ("gpt-4o-mini-2024-07-18")."""
        if model in self.tokens:
            return self.tokens[model]
        bases = [name for name in self.tokens if model.startswith(name + "-")]
        return self.tokens[max(bases, key=len)] if bases else None


def _stored(amount: Decimal) -> Decimal:
    return amount.quantize(_STORED)


def load_prices(override: Path | None = None) -> PriceTable:
    """The shipped table, with the operator's file (if any) merged over it."""
    shipped = resources.files("bot.usage").joinpath("prices.toml").read_text(encoding="utf-8")
    data = tomllib.loads(shipped, parse_float=Decimal)
    if override is not None:
        try:
            with override.open("rb") as file:
                data = _merge(data, tomllib.load(file, parse_float=Decimal))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"Invalid setting PRICES_FILE: {override}: {exc}") from None
    try:
        return parse_prices(data)
    except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
        where = override or "bot/usage/prices.toml"
        raise ConfigError(f"Invalid setting PRICES_FILE: {where}: {exc}") from None


def parse_prices(data: Mapping[str, Any]) -> PriceTable:
    token_unit = int(data.get("token_unit", 1_000_000))
    if token_unit <= 0:
        raise ValueError("token_unit must be positive")
    tokens = {
        str(model): TokenPrice(_price(entry.get("input", 0)), _price(entry.get("output", 0)))
        for model, entry in _table(data, "tokens").items()
    }
    images = {
        str(model): {str(q).lower(): _price(p) for q, p in _table(_table(data, "images"), model).items()}
        for model in _table(data, "images")
    }
    midjourney = {str(mode).lower(): _price(p) for mode, p in _table(data, "midjourney").items()}
    transcription = {str(model): _price(p) for model, p in _table(data, "transcription").items()}
    speech = {str(model): _price(p) for model, p in _table(data, "speech").items()}
    character_unit = int(data.get("character_unit", 1_000_000))
    if character_unit <= 0:
        raise ValueError("character_unit must be positive")
    return PriceTable(
        currency=str(data.get("currency", "USD")),
        token_unit=token_unit,
        decimals=int(data.get("decimals", 4)),
        tokens=tokens,
        images=images,
        midjourney=midjourney,
        transcription=transcription,
        speech=speech,
        character_unit=character_unit,
    )


def _table(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise TypeError(f"[{key}] must be a table")
    return value


def _price(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise TypeError(f"price {value!r} is not a number")
    price = Decimal(value)
    if price < 0:
        raise ValueError(f"price {value} is negative")
    return price


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged

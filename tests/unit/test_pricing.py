"""The price table: shipped defaults, operator overrides, and what an event costs."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.usage.pricing import load_prices, parse_prices


def test_chat_tokens_are_priced_per_million_by_default() -> None:
    prices = load_prices()
    cost = prices.cost("gpt-4o-mini", input_tokens=1_000_000, output_tokens=500_000)
    assert cost == Decimal("0.15") + Decimal("0.30")
    assert prices.currency == "USD"


def test_a_dated_model_name_uses_its_base_entry() -> None:
    prices = load_prices()
    assert prices.cost("gpt-4o-mini-2024-07-18", input_tokens=1000) == prices.cost(
        "gpt-4o-mini", input_tokens=1000
    )
    # The longest matching base wins: gpt-4o-mini, not gpt-4o.
    assert prices.cost("gpt-4o-mini-x", output_tokens=10**6) == Decimal("0.6")


def test_images_are_priced_by_model_and_quality() -> None:
    prices = load_prices()
    assert prices.cost("gpt-image-1", images=2, quality="high") == Decimal("0.334")
    assert prices.cost("gpt-image-1", images=1) == Decimal("0.042")  # no quality: default
    assert prices.cost("dall-e-3", images=1, quality="HD") == Decimal("0.08")
    assert prices.cost("dall-e-3", images=1, quality="weird") == Decimal("0.04")


def test_midjourney_is_priced_per_task_by_mode() -> None:
    prices = load_prices()
    assert prices.cost("midjourney-relax", mj_tasks=1) == Decimal("0.02")
    assert prices.cost("midjourney-fast", mj_tasks=2) == Decimal("0.10")
    assert prices.cost("midjourney-warp", mj_tasks=1) is None


def test_unknown_models_have_no_price() -> None:
    prices = load_prices()
    assert prices.cost("mystery-9000", input_tokens=100) is None
    assert prices.cost("gpt-4o", input_tokens=100) is not None


def test_costs_are_stored_with_eight_decimals() -> None:
    cost = load_prices().cost("gpt-4o-mini", input_tokens=1)
    assert cost == Decimal("0.00000015")
    assert cost is not None and cost.as_tuple().exponent == -8


def test_an_operator_file_is_merged_over_the_defaults(tmp_path: Path) -> None:
    override = tmp_path / "prices.toml"
    override.write_text(
        'currency = "EUR"\n'
        "token_unit = 1000\n"
        '[tokens]\n"my-model" = { input = 1, output = 2 }\n'
        '[images."gpt-image-1"]\nhigh = 0.5\n'
    )
    prices = load_prices(override)
    assert prices.currency == "EUR"
    assert prices.cost("my-model", input_tokens=1000, output_tokens=1000) == Decimal(3)
    assert prices.cost("gpt-image-1", images=1, quality="high") == Decimal("0.5")
    assert prices.cost("gpt-image-1", images=1, quality="low") == Decimal("0.011"), "kept from defaults"
    assert prices.cost("gpt-4o", input_tokens=1000) == Decimal("2.5"), "per 1000 tokens now"
    assert prices.money(Decimal("1.5")) == "€1.5000"


@pytest.mark.parametrize(
    "content",
    [
        "not = [toml",
        '[tokens]\n"m" = { input = -1 }\n',
        '[tokens]\n"m" = { input = "cheap" }\n',
        "token_unit = 0\n",
        "midjourney = 3\n",
    ],
)
def test_a_broken_operator_file_stops_start_up_with_its_name(tmp_path: Path, content: str) -> None:
    override = tmp_path / "bad.toml"
    override.write_text(content)
    with pytest.raises(ConfigError, match="PRICES_FILE"):
        load_prices(override)


def test_a_missing_operator_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="PRICES_FILE"):
        load_prices(tmp_path / "nope.toml")


def test_money_uses_a_symbol_when_it_knows_one() -> None:
    prices = parse_prices({"currency": "CHF", "decimals": 2})
    assert prices.money(Decimal("1234.5")) == "1,234.50 CHF"
    assert parse_prices({}).money(Decimal("0.1"), 2) == "$0.10"

"""The services a handler may use, built once at start-up and passed down."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.access import Access
from bot.budgets import Budgets
from bot.config import Settings
from bot.gateway.client import GatewayClient
from bot.ledger import Ledger
from bot.model import Incoming, Outbox
from bot.pricing import PriceTable
from storage import Database

if TYPE_CHECKING:
    from bot.midjourney import MjTracker


@dataclass(frozen=True)
class Services:
    settings: Settings
    gateway: GatewayClient
    db: Database
    ledger: Ledger
    mj: MjTracker
    prices: PriceTable
    budgets: Budgets
    access: Access


@dataclass(frozen=True)
class Context:
    """One request: who asked, where replies go, and what the handler may use."""

    msg: Incoming
    out: Outbox
    services: Services

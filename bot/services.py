"""The services a handler may use, built once at start-up and passed down."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.config import Settings
from bot.gateway.client import GatewayClient
from bot.ledger import Ledger
from bot.model import Incoming, Outbox
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


@dataclass(frozen=True)
class Context:
    """One request: who asked, where replies go, and what the handler may use."""

    msg: Incoming
    out: Outbox
    services: Services

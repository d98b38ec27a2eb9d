"""Persistence for wenwen-bot: chats, the usage ledger, conversation memory, Midjourney tasks.

The core depends on this package, never the reverse. Everything goes through a unit
of work::

    db = Database("sqlite+aiosqlite:///./data/wenwen.db")
    await db.migrate()
    async with db.unit_of_work() as uow:
        chat = await uow.chats.ensure("tg:-100123", "tg", "-100123", "group", "Team")
        await uow.commit()
    await db.dispose()
"""

from storage.db import Database, Pool
from storage.records import (
    FINISHED_MJ_STATUSES,
    BudgetLimit,
    ChatRecord,
    ChatUsage,
    InboundUpdate,
    JobRecord,
    JobResult,
    MjButton,
    MjPromptRequest,
    MjTaskRecord,
    RecordNotFound,
    Reservation,
    Reserved,
    Role,
    Turn,
    TurnImage,
    UsageEvent,
    UsageReport,
    UsageTotals,
    UserUsage,
    Window,
)
from storage.uow import UnitOfWork

__all__ = [
    "FINISHED_MJ_STATUSES",
    "BudgetLimit",
    "ChatRecord",
    "ChatUsage",
    "Database",
    "InboundUpdate",
    "JobRecord",
    "JobResult",
    "MjButton",
    "MjPromptRequest",
    "MjTaskRecord",
    "Pool",
    "RecordNotFound",
    "Reservation",
    "Reserved",
    "Role",
    "Turn",
    "TurnImage",
    "UnitOfWork",
    "UsageEvent",
    "UsageReport",
    "UsageTotals",
    "UserUsage",
    "Window",
]

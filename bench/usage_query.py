"""How fast /usage answers on a big ledger.

Fills a temporary SQLite file (migrated by Alembic, so it has exactly the production
indexes) with 1 000 000 usage events over 1 000 chats and 90 days, then times the
queries behind /usage, /usage me, /usage chart, the budget check and /admin usage
through the real repositories.

    python bench/usage_query.py [--events 1000000] [--chats 1000] [--samples 200]

Not part of the test suite. Target: /usage under 20 ms median on SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.usage.reports import UsagePeriod as Period
from bot.usage.reports import period_range
from storage import Database

KINDS = (
    ("chat", "gpt-4o-mini", 60),
    ("chat", "gpt-4o", 10),
    ("chat", "claude-3-5-sonnet-20241022", 5),
    ("image_generation", "gpt-image-1", 8),
    ("image_edit", "gpt-image-1", 7),
    ("mj_imagine", "midjourney-relax", 6),
    ("mj_action", "midjourney-relax", 3),
    ("chat", "mystery-model", 1),
)
DAYS = 90


def fill(path: Path, events: int, chats: int, seed: int = 7) -> None:
    """Bulk insert with the sqlite3 module: one transaction, executemany."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = OFF")
    stamp = now.strftime("%Y-%m-%d %H:%M:%S.%f")
    chat_rows = [
        (f"tg:-100{n:06d}", "tg", f"-100{n:06d}", "group", f"chat {n}", 0, stamp, stamp) for n in range(chats)
    ]
    con.executemany(
        "INSERT INTO chats (key, platform, chat_id, kind, title, conversation_epoch, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        chat_rows,
    )
    weights = [w for _, _, w in KINDS]
    users_per_chat = [rng.randint(1, 30) for _ in range(chats)]
    start = now - timedelta(days=DAYS)

    def rows(count: int, offset: int) -> list[tuple[object, ...]]:
        batch = []
        for i in range(count):
            chat = rng.randrange(chats)
            user = rng.randrange(users_per_chat[chat])
            kind, model, _ = rng.choices(KINDS, weights)[0]
            at = start + timedelta(seconds=rng.uniform(0, DAYS * 86400))
            tin, tout = (rng.randint(50, 3000), rng.randint(10, 800)) if kind == "chat" else (0, 0)
            images = 1 if kind.startswith("image") else 0
            mj = 1 if kind.startswith("mj") else 0
            cost = round(tin * 0.15e-6 + tout * 0.6e-6 + images * 0.042 + mj * 0.02, 8)
            currency = None if model == "mystery-model" else "USD"
            batch.append(
                (
                    f"tg:-100{chat:06d}", "tg", f"u{user}", f"user {user}", kind, model,
                    tin, tout, tin + tout, 0, images, mj, f"req-{offset + i}", None,
                    cost, currency, at.strftime("%Y-%m-%d %H:%M:%S.%f"),
                )
            )  # fmt: skip
        return batch

    insert = (
        "INSERT INTO usage_events (chat_key, platform, user_id, user_name, kind, model, input_tokens,"
        " output_tokens, total_tokens, image_tokens, images, mj_tasks, request_key, task_id, cost,"
        " currency, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    batch_size = 50_000
    for offset in range(0, events, batch_size):
        con.executemany(insert, rows(min(batch_size, events - offset), offset))
    con.commit()
    con.execute("PRAGMA optimize")  # what a long-running bot's SQLite gets from ANALYZE
    con.close()


async def timed(samples: list[float], call: Awaitable[object]) -> None:
    """Time one awaitable (a coroutine does nothing until awaited)."""
    started = time.perf_counter()
    await call
    samples.append((time.perf_counter() - started) * 1000)


async def budget_check(db: Database, key: str, day: datetime) -> None:
    """What the budget check reads before a billable request (chat and user, day and month)."""
    month = day.replace(day=1)
    async with db.unit_of_work() as uow:
        for since, user in ((day, None), (month, None), (day, "u0"), (month, "u0")):
            await uow.usage.totals(key, since, user_id=user)


def summary(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[max(0, round(len(ordered) * 0.95) - 1)]
    return f"{name:<34} n={len(samples):<4} median {statistics.median(ordered):7.2f} ms   p95 {p95:7.2f} ms"


async def measure(db: Database, chats: int, samples: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    results: dict[str, list[float]] = {}
    for _ in range(samples):
        key = f"tg:-100{rng.randrange(chats):06d}"
        async with db.unit_of_work() as uow:
            for period in Period:
                since, until = period_range(period, now)
                report = uow.usage.report(key, since, until, top_n=10)
                await timed(results.setdefault(f"/usage {period.value}", []), report)
            since, until = period_range(Period.MONTH, now)
            mine = uow.usage.report(key, since, until, user_id="u0", top_n=0)
            await timed(results.setdefault("/usage me (month)", []), mine)
            await timed(results.setdefault("/usage chart (30 days)", []), uow.usage.daily(key, 30))
        await timed(results.setdefault("budget check (4 totals)", []), budget_check(db, key, day))
    admin: list[float] = []
    since, until = period_range(Period.MONTH, now)
    for _ in range(5):
        async with db.unit_of_work() as uow:
            await timed(admin, uow.usage.by_chat(since, until, top_n=10))
    return [summary(name, values) for name, values in results.items()] + [
        summary("/admin usage (all chats, month)", admin)
    ]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--chats", type=int, default=1_000)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        db = Database(f"sqlite+aiosqlite:///{path}")
        await db.migrate()
        await db.dispose()
        started = time.perf_counter()
        fill(path, args.events, args.chats)
        print(
            f"filled {args.events:,} events over {args.chats:,} chats in "
            f"{time.perf_counter() - started:.1f} s ({path.stat().st_size / 1e6:.0f} MB)"
        )
        db = Database(f"sqlite+aiosqlite:///{path}")
        try:
            for line in await measure(db, args.chats, args.samples):
                print(line)
        finally:
            await db.dispose()


if __name__ == "__main__":
    asyncio.run(main())

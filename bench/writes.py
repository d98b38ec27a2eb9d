"""The write path under a crowd: 150 chats finishing a turn at the same moment.

Each chat does what the end of a real chat turn does, through the real code: its question
and answer go into memory and its usage into the ledger (one `Writes`, committed by the
group-commit writer), and, with budgets, its reservation is made first (`Budgets.hold`)
and ended by that same write. The figure is each chat's time from starting its writes to
having them committed. For comparison, the same writes one transaction per chat (how
every request wrote before the writer).

    .venv/bin/python bench/writes.py                    # SQLite file, then PostgreSQL if reachable
    .venv/bin/python bench/writes.py --chats 150 --rounds 20
    .venv/bin/python bench/writes.py --database-url postgresql+asyncpg://postgres@127.0.0.1/x

Target (issue 12): p99 ≤ 100 ms at 150 chats, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.usage.budgets import Budgets, Estimate
from bot.usage.limits import parse_limits
from bot.usage.pricing import load_prices
from storage import Database, UsageEvent
from storage.writer import Writer
from storage.writes import NewTurn, Writes
from tests.services import PostgresDatabases

TARGET_MS = 100.0


def turn_writes(chat: str, n: int, released: tuple[int, ...] = ()) -> Writes:
    question = NewTurn(chat, 0, "user", f"question {n} " + "words " * 30, 60, user_id="7")
    answer = NewTurn(chat, 0, "assistant", f"answer {n} " + "more words " * 60, 180)
    event = UsageEvent(
        chat, "tg", "7", "Ann", "chat", "gpt-4o-mini", 240, 180, 420, request_key=uuid.uuid4().hex
    )
    return Writes(turns=(question, answer), events=(event,), released=released)


async def add_chats(db: Database, chats: list[str]) -> None:
    async with db.unit_of_work() as uow:
        for key in chats:
            await uow.chats.ensure(key, "tg", key.split(":")[1], "private", key)
        await uow.commit()


async def timed(step: Callable[[], Awaitable[None]]) -> float:
    start = time.perf_counter()
    await step()
    return (time.perf_counter() - start) * 1000


async def rounds(n: int, chats: list[str], one: Callable[[str, int], Awaitable[None]]) -> list[float]:
    times: list[float] = []
    for r in range(n):
        times += await asyncio.gather(*(timed(lambda c=chat, r=r: one(c, r)) for chat in chats))
    return times


def show(name: str, times: list[float], target: bool) -> None:
    ordered = sorted(times)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    verdict = ""
    if target:
        verdict = f"  (target p99 ≤ {TARGET_MS:.0f} ms: {'ok' if p99 <= TARGET_MS else 'MISSED'})"
    print(
        f"  {name}: p50 {statistics.median(ordered):.1f} ms, p99 {p99:.1f} ms, max {ordered[-1]:.1f} ms"
        + verdict
    )


async def bench(url: str, args: argparse.Namespace) -> None:
    db = Database(url)
    await db.migrate()
    chats = [f"tg:{100_000 + i}" for i in range(args.chats)]
    await add_chats(db, chats)
    # As the bot does once it is built (bot/__main__.py): what lives for good is kept out of the
    # cyclic collector's full passes, which would otherwise land in a round now and then.
    gc.collect()
    gc.freeze()
    writer = Writer(db)
    commits: list[int] = []
    from sqlalchemy import event

    event.listen(db.engine.sync_engine, "commit", lambda _conn: commits.append(1))

    async def grouped(chat: str, n: int) -> None:
        await writer.write(turn_writes(chat, n))

    async def alone(chat: str, n: int) -> None:
        async with db.unit_of_work() as uow:
            await uow.bulk.apply(turn_writes(chat, n))
            await uow.commit()

    budgets = Budgets(db, load_prices(), parse_limits("chat.day.tokens=100000000"), instance_id="bench")

    async def with_budget(chat: str, n: int) -> None:
        async with budgets.hold(chat, "7", Estimate(tokens=5000, cost=Decimal("0.01"))) as hold:
            await writer.write(turn_writes(chat, n, budgets.releasing(hold)))
            budgets.released(hold)

    for name, one, target in (
        ("turn records, group commit", grouped, True),
        ("turn records, one transaction each", alone, False),
        ("budget hold + turn record", with_budget, True),
    ):
        # Warm up each way: connections, and its statements compiled once (a running bot
        # compiles each on its first use; a cold round is one batch, so it would be the p99).
        await rounds(1, chats, one)
        commits.clear()
        times = await rounds(args.rounds, chats, one)
        show(name, times, target)
        print(f"    commits per chat turn: {len(commits) / len(times):.2f}")
    await writer.close()
    await db.dispose()


async def main(args: argparse.Namespace) -> None:
    print(f"{args.chats} chats writing at once, {args.rounds} rounds")
    if args.database_url:
        await bench(args.database_url, args)
        return
    with tempfile.TemporaryDirectory() as folder:
        print("SQLite (file, WAL)")
        await bench(f"sqlite+aiosqlite:///{folder}/writes.db", args)
    servers = PostgresDatabases("postgresql+asyncpg://postgres@127.0.0.1:5432/wenwen_bench")
    try:
        await asyncio.to_thread(servers.start)
    except Exception as exc:
        print(f"PostgreSQL: not reachable ({exc.__class__.__name__}), skipped")
        return
    print("PostgreSQL")
    try:
        url = await asyncio.to_thread(servers.take)
        await bench(url, args)
        servers.give_back(url)
    finally:
        await asyncio.to_thread(servers.close)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--database-url")
    asyncio.run(main(parser.parse_args()))

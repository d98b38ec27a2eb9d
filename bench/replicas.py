"""Chat turns per second with 1, 2 and 3 webhook replicas of the real entry point.

    .venv/bin/python bench/replicas.py [--database-url postgresql+asyncpg://…] [--messages 300]

Each run starts N replicas (subprocesses) on one PostgreSQL database behind a round-robin
balancer, with the fake Telegram delivering every update by webhook and the gateway
simulator answering at once, then sends `--messages` chat messages from 50 users and
times until every one is answered. Prints a table: replicas, turns, seconds, turns/s.
The database must be PostgreSQL (several replicas share it); each run gets a fresh one.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.replicas import Replicas
from tests.services import PostgresDatabases


async def one_run(replicas: int, messages: int, database_url: str) -> float:
    with tempfile.TemporaryDirectory() as folder:
        async with Replicas(Path(folder), database_url) as world:
            await world.start(replicas)
            users = [world.tg.user(id=9000 + n, first_name=f"B{n}", username=f"b{n}") for n in range(50)]
            started = time.monotonic()
            for n in range(messages):
                user = users[n % len(users)]
                world.tg.send_text(world.tg.private_chat(user), user, f"turn {n}")

            await world.tg.wait_for(
                "sendMessage", lambda c: c.ok and "Echo: turn" in str(c.params), count=messages, timeout=600
            )
            return messages / (time.monotonic() - started)


async def main(database_url: str, messages: int) -> None:
    databases = PostgresDatabases(database_url)
    databases.start()
    rows = []
    for count in (1, 2, 3):
        url = databases.take()
        try:
            rate = await one_run(count, messages, url)
        finally:
            databases.give_back(url)
        rows.append((count, rate))
        print(f"{count} replica(s): {rate:.1f} turns/s", flush=True)
    databases.close()
    print("\n| replicas | turns/s |\n|---|---|")
    for count, rate in rows:
        print(f"| {count} | {rate:.1f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/wenwen_bench")
    parser.add_argument("--messages", type=int, default=300)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.database_url, arguments.messages))

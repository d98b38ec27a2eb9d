"""Kill the real bot with SIGKILL under load many times, restart it, and count what survived.

    .venv/bin/python bench/crash_rounds.py [--rounds 50] [--database-url URL]

Prints the counts of tests/e2e/crashes.Report: requests answered or told they were
interrupted, Midjourney tasks delivered once / more than once / lost before they were
stored, images the gateway made versus recorded, and leftovers (reservations, open jobs,
unhandled updates) — all of which should be zero.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.crashes import CrashWorld


async def main(rounds: int, database_url: str | None) -> int:
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        url = database_url or f"sqlite+aiosqlite:///{tmp / 'wenwen.db'}"
        started = time.monotonic()
        async with CrashWorld(tmp, url) as world:
            world.slow_pictures()
            for number in range(rounds):
                await world.crash_round()
                print(f"round {number + 1}/{rounds}: killed", flush=True)
            await world.wave()
            await world.settle(within=180)
            report = await world.verify()
        print(f"\n{rounds} rounds in {time.monotonic() - started:.0f} s on {url.split(':', 1)[0]}")
        for line in report.lines():
            print(line)
        broken = (
            report.unanswered
            or report.mj_never_delivered
            or report.reservations_left
            or report.open_jobs_left
            or report.unhandled_updates_left
            or not report.integrity.startswith("ok")
        )
        return 1 if broken else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--database-url", default=None)
    arguments = parser.parse_args()
    sys.exit(asyncio.run(main(arguments.rounds, arguments.database_url)))

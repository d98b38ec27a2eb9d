"""Killing the real bot under load, and checking that nothing was lost or doubled.

Shared by tests/e2e/test_crash.py (a few rounds) and bench/crash_rounds.py (many): the
entry point `python -m bot` runs as a subprocess against the gateway simulator and the
fake Telegram server (both in this process), on a real SQLite file or PostgreSQL. Users
in 20 private chats send a mix of chat messages, /image and /imagine; the bot is killed
with SIGKILL at random moments and started again; at the end it runs until every request
has an outcome, and `verify` reads the database, the simulator and the chats.
"""

from __future__ import annotations

import asyncio
import random
import signal
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text

from adapters.telegram.platform import MENU_LANGUAGES
from simulator import Fault, Simulator
from storage import Database
from tests.fakes.bot_process import QUICK, SIM_KEY, bot_env
from tests.fakes.telegram_api import JSON, FakeTelegram

TOKEN = "123456:TEST-token-abcdef"
INTERRUPTED = "interrupted by a restart"
KINDS = ("chat", "image", "imagine")


@dataclass
class Sent:
    chat: JSON
    message_id: int
    kind: str
    text: str


@dataclass
class Report:
    rounds: int
    kills: int
    requests: int
    answered: int
    told_interrupted: int
    unanswered: list[str] = field(default_factory=list)
    mj_accepted: int = 0
    mj_delivered_once: int = 0
    mj_delivered_twice_or_more: int = 0
    mj_never_delivered: list[str] = field(default_factory=list)
    mj_lost_before_stored: int = 0  # accepted while the crash hit, answered as "may have been charged"
    images_by_gateway: int = 0
    images_recorded: int = 0
    images_told_may_be_charged: int = 0
    chat_calls_by_gateway: int = 0
    chat_calls_recorded: int = 0
    reservations_left: int = 0
    open_jobs_left: int = 0
    unhandled_updates_left: int = 0
    integrity: str = ""

    def lines(self) -> Iterator[str]:
        for name, value in vars(self).items():
            shown = len(value) if isinstance(value, list) else value
            yield f"{name:>28}: {shown}"


class CrashWorld:
    def __init__(self, tmp: Path, database_url: str, *, chats: int = 20, seed: int = 7) -> None:
        self.tmp = tmp
        self.database_url = database_url
        self.random = random.Random(seed)
        self.sim = Simulator(api_key=SIM_KEY, mj_step_seconds=0.3, chunk_delay=0.005, image_px=64)
        self.tg = FakeTelegram(token=TOKEN, bot_username="wenwen_test_bot")
        self.users = [self.tg.user(id=5000 + n, first_name=f"U{n}", username=f"u{n}") for n in range(chats)]
        self.chats = [self.tg.private_chat(user) for user in self.users]
        self.sent: list[Sent] = []
        self.process: asyncio.subprocess.Process | None = None
        self.kills = 0
        self.rounds = 0
        self.log = tmp / "bot.log"

    async def __aenter__(self) -> CrashWorld:
        await self.sim.start()
        await self.tg.start()
        return self

    def slow_pictures(self, delay: float = 0.8, times: int | None = None) -> None:
        """Pictures take a while: a kill or a shutdown finds some in flight."""
        self.sim.add_fault(
            Fault(route="/v1/images/generations", kind="slow_first_byte", delay=delay, times=times)
        )

    async def __aexit__(self, *exc: object) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        await self.tg.stop()
        await self.sim.stop()

    # --- the bot ------------------------------------------------------------------------

    def _env(self) -> dict[str, str]:
        return bot_env(
            token=TOKEN,
            telegram_url=self.tg.base_url,
            gateway_url=self.sim.base_url,
            database_url=self.database_url,
            data_dir=self.tmp,
            **QUICK,
            SHUTDOWN_GRACE="5",
            HTTP_PORT="0",
            LOG_LEVEL="INFO",
        )

    async def start_bot(self, **env: str) -> None:
        started = len(self.tg.calls_of("setMyCommands"))
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", cwd=self.tmp, env=self._env() | env, stdout=log, stderr=log
            )
        # Polling, with its command menu (published beside it) in place.
        await self.tg.wait_for("setMyCommands", timeout=60, count=started + len(MENU_LANGUAGES))

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()
        self.kills += 1

    def terminate(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)

    async def stop(self) -> int:
        self.terminate()
        assert self.process is not None
        return await asyncio.wait_for(self.process.wait(), timeout=120)

    # --- the load -------------------------------------------------------------------------

    def send(self, user: int, kind: str) -> Sent:
        """User number `user` sends one request of this kind."""
        n = len(self.sent)
        text = {
            "chat": f"hello number {n}",
            "image": f"/image a fox number {n}",
            "imagine": f"/imagine castle {n}",
        }[kind]
        return self.send_text(user, kind, text)

    def send_text(self, user: int, kind: str, text: str) -> Sent:
        update = self.tg.send_text(self.chats[user], self.users[user], text)
        sent = Sent(self.chats[user], update["message"]["message_id"], kind, text)
        self.sent.append(sent)
        return sent

    async def wave(self, spread: float = 1.5) -> None:
        """Every user sends one request, spread over `spread` seconds."""
        for user in range(len(self.users)):
            self.send(user, self.random.choice(KINDS))
            await asyncio.sleep(self.random.uniform(0, spread / len(self.users)))

    async def requests_reach(self, path: str, count: int, within: float = 30.0) -> None:
        """Wait until the gateway has seen `count` requests to `path`."""
        await self.until(
            lambda: len([r for r in self.sim.requests if r.path == path]) >= count,
            within,
            what=f"the gateway seeing {count} requests to {path}",
        )

    async def until(
        self, condition: Callable[[], bool], within: float = 30.0, *, what: str = "the condition"
    ) -> None:
        deadline = asyncio.get_running_loop().time() + within
        while not condition():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.02)

    async def exit_code(self) -> int:
        assert self.process is not None
        return await asyncio.wait_for(self.process.wait(), timeout=120)

    async def crash_round(self) -> None:
        await self.start_bot()
        await self.wave()
        await asyncio.sleep(self.random.uniform(0.1, 2.5))
        await self.kill()
        self.rounds += 1

    async def settle(self, within: float = 90.0) -> None:
        """Run the bot until every request has an outcome and Midjourney is quiet, then stop it."""
        await self.start_bot()
        deadline = asyncio.get_running_loop().time() + within
        while asyncio.get_running_loop().time() < deadline:
            if not self._unanswered() and await self._mj_quiet():
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(1.0)  # anything doubled would show up now
        await self.stop()

    async def _mj_quiet(self) -> bool:
        db = Database(self.database_url)
        try:
            async with db.engine.connect() as conn:
                pending = (
                    await conn.execute(text("SELECT count(*) FROM mj_tasks WHERE NOT delivered"))
                ).scalar()
        finally:
            await db.dispose()
        return pending == 0

    # --- what the users saw --------------------------------------------------------------

    def outcome(self, sent: Sent) -> str | None:
        return self._outcome(sent)

    def replies(self, sent: Sent) -> list[JSON]:
        return [
            m
            for m in self.tg.messages_in(sent.chat["id"])
            if m.get("from", {}).get("id") == self.tg.bot_id
            and m.get("reply_to_message", {}).get("message_id") == sent.message_id
        ]

    def bot_texts(self, user: int) -> list[str]:
        """Every text message the bot sent to user number `user`, oldest first."""
        return [
            str(m["text"])
            for m in self.tg.messages_in(self.chats[user]["id"])
            if m.get("from", {}).get("id") == self.tg.bot_id and "text" in m
        ]

    def _outcome(self, sent: Sent) -> str | None:
        for reply in self.replies(sent):
            body = str(reply.get("text") or reply.get("caption") or "")
            if INTERRUPTED in body:
                return "interrupted"
            if sent.kind == "chat" and "Echo:" in body:
                return "answered"
            if sent.kind == "tool" and body.startswith("Done:"):  # the model's answer after a tool
                return "answered"
            if sent.kind in ("image", "imagine") and reply.get("photo"):
                return "answered"
            if body.startswith(("⚠️", "❌")):
                return "answered"  # a gateway fault is an honest outcome too
        return None

    def _unanswered(self) -> list[Sent]:
        return [s for s in self.sent if self._outcome(s) is None]

    def _grids(self) -> Counter[str]:
        """How often each Midjourney task's grid (its buttons name the task) reached a chat."""
        delivered: Counter[str] = Counter()
        for call in self.tg.calls_of("sendPhoto"):
            if not call.ok:
                continue
            for row in (call.result.get("reply_markup") or {}).get("inline_keyboard", []):
                for button in row:
                    data = str(button.get("callback_data", ""))
                    if data.startswith("mj:") and data.endswith(":0"):
                        delivered[data.split(":")[1]] += 1
        return delivered

    # --- the verdict -------------------------------------------------------------------------

    async def verify(self) -> Report:
        outcomes = Counter(self._outcome(s) for s in self.sent)
        report = Report(
            rounds=self.rounds,
            kills=self.kills,
            requests=len(self.sent),
            answered=outcomes["answered"],
            told_interrupted=outcomes["interrupted"],
            unanswered=[f"{s.kind}: {s.text}" for s in self._unanswered()],
        )
        grids = self._grids()
        db = Database(self.database_url)
        try:
            async with db.engine.connect() as conn:
                stored = {
                    row[0]: (row[1], row[2])
                    for row in await conn.execute(text("SELECT task_id, delivered, job_id FROM mj_tasks"))
                }
                jobs = {
                    row[0]: (row[1], row[2])
                    for row in await conn.execute(text("SELECT id, kind, state FROM jobs"))
                }
                report.reservations_left = _count(
                    await conn.execute(text("SELECT count(*) FROM budget_reservations"))
                )
                report.open_jobs_left = _count(
                    await conn.execute(
                        text("SELECT count(*) FROM jobs WHERE state IN ('started', 'answered', 'delivering')")
                    )
                )
                report.unhandled_updates_left = _count(
                    await conn.execute(text("SELECT count(*) FROM inbound WHERE state = 'received'"))
                )
                usage = {
                    row[0]: (int(row[1] or 0), int(row[2] or 0))
                    for row in await conn.execute(
                        text("SELECT kind, count(*), sum(images) FROM usage_events GROUP BY kind")
                    )
                }
                if db.engine.dialect.name == "sqlite":
                    report.integrity = str((await conn.execute(text("PRAGMA integrity_check"))).scalar())
                else:
                    report.integrity = "ok (PostgreSQL)"
        finally:
            await db.dispose()
        for task_id, task in self.sim.tasks.items():
            report.mj_accepted += 1
            if task_id in stored:
                count = grids.get(task_id, 0)
                if count == 1:
                    report.mj_delivered_once += 1
                elif count > 1:
                    report.mj_delivered_twice_or_more += 1
                else:
                    report.mj_never_delivered.append(task_id)
            elif jobs.get(task.state, ("", ""))[1] == "interrupted":
                report.mj_lost_before_stored += 1
            else:
                report.mj_never_delivered.append(task_id)
        report.images_by_gateway = self.sim.ledger.images
        report.images_recorded = usage.get("image_generation", (0, 0))[1]
        report.images_told_may_be_charged = sum(
            1 for kind, state in jobs.values() if kind == "image_generation" and state == "interrupted"
        )
        report.chat_calls_by_gateway = self.sim.ledger.requests.get("chat", 0)
        report.chat_calls_recorded = usage.get("chat", (0, 0))[0]
        return report


def _count(result: Any) -> int:
    return int(result.scalar() or 0)

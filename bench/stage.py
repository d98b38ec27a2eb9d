"""The stage every load benchmark runs on: the real bot as a process, the fakes in this one.

`python -m bot` runs as a subprocess (so its CPU, memory and start-up are its own), talking
to the gateway simulator and the fake Telegram Bot API server, both served from this
process on loopback. The stage records what a user would see and when:

* when each update left the fake Telegram (the bot's getUpdates answer),
* every Bot API call the bot made (`FakeTelegram.calls`, each with its arrival time),
* how long the simulator spent on each gateway request (its handler time),
* the bot process's CPU time and memory, read from /proc.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from simulator import Simulator
from tests.fakes.bot_process import SIM_KEY, bot_env
from tests.fakes.telegram_api import JSON, FakeTelegram

TOKEN = "123456:BENCH-token-abcdef"
TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class GatewaySpan:
    path: str
    start: float  # time.monotonic()
    end: float


@dataclass
class Stage:
    sim: Simulator
    tg: FakeTelegram
    folder: Path
    database_url: str
    delivered: dict[int, float] = field(default_factory=dict)  # update_id -> when it left
    spans: list[GatewaySpan] = field(default_factory=list)
    first_get_updates: float | None = None
    process: asyncio.subprocess.Process | None = None
    started_at: float = 0.0
    _indexed: int = 0
    _texts: dict[int, list[tuple[float, str, str]]] = field(default_factory=dict)

    # --- the bot process -------------------------------------------------------------------

    def env(self, **extra: str) -> dict[str, str]:
        defaults = {
            "HTTP_PORT": "0",
            "LOG_LEVEL": "WARNING",
            "RATE_LIMIT_PER_MINUTE": "0",
            "SHUTDOWN_GRACE": "5",
        }
        return bot_env(
            token=TOKEN,
            telegram_url=self.tg.base_url,
            gateway_url=self.sim.base_url,
            database_url=self.database_url,
            data_dir=self.folder,
            **(defaults | extra),
        )

    async def start_bot(self, **extra: str) -> float:
        """Start `python -m bot`; returns seconds until its first getUpdates."""
        self.first_get_updates = None
        log = (self.folder / "bot.log").open("ab")
        self.started_at = time.monotonic()
        command = [sys.executable, "-m", "bot"]
        if profile := os.environ.get("BENCH_PROFILE"):
            # pyinstrument (`pip install -e '.[bench]'`) writes its report when the bot exits.
            command[1:1] = ["-m", "pyinstrument", "-r", "pyisession", "-o", profile]
        self.process = await asyncio.create_subprocess_exec(
            *command, cwd=self.folder, env=self.env(**extra), stdout=log, stderr=log
        )
        log.close()
        while self.first_get_updates is None:
            if self.process.returncode is not None:
                raise RuntimeError(
                    f"the bot exited with {self.process.returncode}; see {self.folder}/bot.log"
                )
            await asyncio.sleep(0.005)
        return self.first_get_updates - self.started_at

    async def stop_bot(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        self.process.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), 60)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime

    def memory_mb(self) -> tuple[float, float]:
        """(current RSS, peak RSS) of the bot, in MB."""
        return process_memory_mb(self.pid)

    # --- what users see ------------------------------------------------------------------

    def texts_in(self, chat_id: int) -> list[tuple[float, str, str]]:
        """(arrival, method, text) of every text the bot sent or edited in a chat."""
        calls = self.tg.calls
        if len(calls) < self._indexed:  # the scenario cleared them
            self._indexed = 0
            self._texts.clear()
        for call in calls[self._indexed :]:
            if call.method in ("sendMessage", "editMessageText") and call.ok:
                texts = self._texts.setdefault(int(call.params.get("chat_id", 0)), [])
                texts.append((call.at, call.method, str(call.params.get("text", ""))))
        self._indexed = len(calls)
        return self._texts.get(chat_id, [])

    async def wait_until(self, done: Callable[[], bool], within: float, every: float = 0.05) -> bool:
        deadline = time.monotonic() + within
        while not done():
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(every)
        return True

    def gateway_time(self, start: float, end: float) -> float:
        """Seconds the simulator spent on requests inside [start, end] (overlaps counted once)."""
        inside = sorted(
            (max(span.start, start), min(span.end, end))
            for span in self.spans
            if span.end > start and span.start < end
        )
        total, reach = 0.0, start
        for begin, finish in inside:
            counted = max(begin, reach)
            if finish > counted:
                total += finish - counted
                reach = finish
        return total


def process_memory_mb(pid: int) -> tuple[float, float]:
    status = Path(f"/proc/{pid}/status").read_text()
    values = {}
    for line in status.splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


def _timed(stage: Stage) -> Callable[[web.Request, Any], Awaitable[web.StreamResponse]]:
    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        start = time.monotonic()
        try:
            return await handler(request)
        finally:
            if not request.path.startswith("/__sim"):
                stage.spans.append(GatewaySpan(request.path, start, time.monotonic()))

    return middleware


def _watch_updates(stage: Stage) -> None:
    real = stage.tg._handlers["getUpdates"]

    async def get_updates(params: dict[str, Any], files: Any, names: Any) -> list[JSON]:
        if stage.first_get_updates is None:
            stage.first_get_updates = time.monotonic()
        batch: list[JSON] = await real(params, files, names)
        now = time.monotonic()
        for update in batch:
            stage.delivered.setdefault(int(update["update_id"]), now)
        return batch

    stage.tg._handlers["getUpdates"] = get_updates


@asynccontextmanager
async def stage(folder: Path, database_url: str, *, chunk_delay: float = 0.0) -> AsyncIterator[Stage]:
    sim = Simulator(api_key=SIM_KEY, mj_step_seconds=0.2, chunk_delay=chunk_delay, image_px=64)
    tg = FakeTelegram(token=TOKEN, bot_username="wenwen_bench_bot")
    built = Stage(sim, tg, folder, database_url)
    sim.app.middlewares.append(_timed(built))
    _watch_updates(built)
    await sim.start()
    await tg.start()
    try:
        yield built
    finally:
        await built.stop_bot()
        await tg.stop()
        await sim.stop()

"""Several replicas of the real entry point on one database, as an operator runs them.

Shared by tests/e2e/test_replicas.py and bench/replicas.py: each replica is `python -m bot`
in a subprocess with its own HTTP port; in webhook mode a small round-robin proxy stands
for the load balancer in front of them (skipping a replica that does not answer, as a
balancer with health checks would), and the fake Telegram delivers every update to it.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import signal
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from simulator import Simulator
from tests.fakes.bot_process import QUICK, SIM_KEY, bot_env
from tests.fakes.telegram_api import JSON, FakeTelegram

TOKEN = "123456:TEST-token-abcdef"
SECRET = "replica-webhook-secret"
WEBHOOK_PATH = "/telegram/webhook"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RoundRobinProxy:
    """The load balancer: each request to the next replica; a replica that refuses is skipped."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self._next = itertools.count()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.port = 0
        self.forwarded: list[int] = []

    async def start(self) -> str:
        self._session = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        for _ in range(len(self.ports)):
            port = self.ports[next(self._next) % len(self.ports)]
            try:
                async with self._session.request(
                    request.method, f"http://127.0.0.1:{port}{request.path_qs}", data=body, headers=headers
                ) as answer:
                    if answer.status == 503:  # draining, or not ready: the balancer moves on
                        continue
                    self.forwarded.append(port)
                    return web.Response(
                        status=answer.status,
                        body=await answer.read(),
                        headers={"Content-Type": answer.headers.get("Content-Type", "text/plain")},
                    )
            except aiohttp.ClientConnectionError:
                continue
        return web.Response(status=502, text="no replica answered")


@dataclass
class Replica:
    port: int
    process: asyncio.subprocess.Process
    log: Path

    @property
    def alive(self) -> bool:
        return self.process.returncode is None


@dataclass
class Replicas:
    """The world of one test: simulator, fake Telegram, the replicas and (webhooks) the proxy."""

    tmp: Path
    database_url: str
    mode: str = "webhook"
    extra_env: dict[str, str] = field(default_factory=dict)
    redeliver_fraction: float = 0.0
    sim: Simulator = field(init=False)
    tg: FakeTelegram = field(init=False)
    proxy: RoundRobinProxy | None = None
    replicas: list[Replica] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sim = Simulator(api_key=SIM_KEY, mj_step_seconds=0.3, chunk_delay=0.0, image_px=64)
        self.tg = FakeTelegram(token=TOKEN, bot_username="wenwen_test_bot")
        self.tg.redeliver_fraction = self.redeliver_fraction
        self.tg.rng = random.Random(5)  # a seed that redelivers about one update in ten

    async def __aenter__(self) -> Replicas:
        await self.sim.start()
        await self.tg.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        for replica in self.replicas:
            if replica.alive:
                replica.process.send_signal(signal.SIGTERM)
        for replica in self.replicas:
            try:
                await asyncio.wait_for(replica.process.wait(), 30)
            except TimeoutError:
                replica.process.kill()
                await replica.process.wait()
        if self.proxy is not None:
            await self.proxy.stop()
        await self.tg.stop()
        await self.sim.stop()

    def _env(self, port: int, number: int) -> dict[str, str]:
        env = bot_env(
            token=TOKEN,
            telegram_url=self.tg.base_url,
            gateway_url=self.sim.base_url,
            database_url=self.database_url,
            data_dir=self.tmp / f"replica{number}",
            **QUICK,
            TELEGRAM_MODE=self.mode,
            HTTP_HOST="127.0.0.1",
            HTTP_PORT=str(port),
            SHUTDOWN_GRACE="3",
            LOG_LEVEL="INFO",
        )
        if self.mode == "webhook":
            assert self.proxy is not None
            env.update(WEBHOOK_URL=f"http://127.0.0.1:{self.proxy.port}{WEBHOOK_PATH}", WEBHOOK_SECRET=SECRET)
        env.update(self.extra_env)
        return env

    async def start(self, count: int) -> None:
        ports = [free_port() for _ in range(count)]
        if self.mode == "webhook":
            self.proxy = RoundRobinProxy(ports)
            await self.proxy.start()
        # Started together: each spends seconds importing its libraries, and they overlap.
        started = [await self._spawn(port, number) for number, port in enumerate(ports)]
        await asyncio.gather(*(self._wait_ready(replica) for replica in started))
        if self.mode == "webhook":
            await self._wait(lambda: self.tg.webhook_url is not None, "the webhook to be set")

    async def _spawn(self, port: int, number: int) -> Replica:
        log = self.tmp / f"replica{number}.log"
        (self.tmp / f"replica{number}").mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", cwd=self.tmp, env=self._env(port, number), stdout=out, stderr=out
            )
        replica = Replica(port, process, log)
        self.replicas.append(replica)
        return replica

    async def _wait_ready(self, replica: Replica, within: float = 60.0) -> None:
        """Until its /healthz answers (the replica serves); polling standbys are not `ready`."""
        async with aiohttp.ClientSession() as session:
            deadline = asyncio.get_running_loop().time() + within
            while True:
                if not replica.alive:
                    raise AssertionError(
                        f"replica on {replica.port} exited:\n{replica.log.read_text()[-3000:]}"
                    )
                try:
                    async with session.get(f"http://127.0.0.1:{replica.port}/healthz") as answer:
                        if answer.status == 200:
                            return
                except aiohttp.ClientConnectionError:
                    pass
                if asyncio.get_running_loop().time() > deadline:
                    raise AssertionError(
                        f"replica on {replica.port} never served:\n{replica.log.read_text()[-3000:]}"
                    )
                await asyncio.sleep(0.2)

    async def _wait(self, condition: Any, what: str, within: float = 60.0) -> None:
        deadline = asyncio.get_running_loop().time() + within
        while not condition():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.1)

    async def get(self, replica: Replica, path: str) -> tuple[int, str]:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{replica.port}{path}") as answer,
        ):
            return answer.status, await answer.text()

    def kill(self, replica: Replica) -> None:
        replica.process.send_signal(signal.SIGKILL)

    # --- what users saw ----------------------------------------------------------------------

    def replies_to(self, chat: JSON, message_id: int) -> list[JSON]:
        return [
            m
            for m in self.tg.messages_in(chat["id"])
            if m.get("from", {}).get("id") == self.tg.bot_id
            and m.get("reply_to_message", {}).get("message_id") == message_id
        ]

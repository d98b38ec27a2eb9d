"""The Simulator: an aiohttp server speaking the wenwen gateway's HTTP contract."""

from __future__ import annotations

import logging
from types import TracebackType

from aiohttp import web

from . import anthropic, audio, chat, control, embeddings, images, midjourney, models
from .faults import Fault
from .ledger import Ledger
from .mj_tasks import MjTask
from .pipeline import add_request_id, pipeline
from .records import RecordedRequest
from .state import STATE, SimConfig, SimState

log = logging.getLogger(__name__)

# Stop quickly even if a handler is sleeping in a "timeout" fault.
_SHUTDOWN_TIMEOUT = 1.0


def gateway_routes() -> list[web.RouteDef]:
    return [
        web.post("/v1/chat/completions", chat.chat_completions),
        web.post("/v1/messages", anthropic.messages),
        web.post("/v1/images/generations", images.generations),
        web.post("/v1/images/edits", images.edits),
        web.post("/v1/embeddings", embeddings.embeddings),
        web.post("/v1/audio/transcriptions", audio.transcriptions),
        web.post("/v1/audio/speech", audio.speech),
        web.get("/v1/models", models.list_models),
        web.post("/mj/submit/imagine", midjourney.imagine),
        web.post("/mj/submit/blend", midjourney.blend),
        web.post("/mj/submit/action", midjourney.action),
        web.post("/mj/submit/describe", midjourney.describe),
        web.post("/mj/submit/modal", midjourney.modal),
        web.get("/mj/task/{id}/fetch", midjourney.fetch),
        web.post("/mj/task/list-by-condition", midjourney.list_by_condition),
        web.get("/mj/task/{id}/image-seed", midjourney.image_seed),
        web.get("/mj/image/{id}", midjourney.image),
    ]


def build_app(state: SimState) -> web.Application:
    app = web.Application(middlewares=[pipeline])
    app[STATE] = state
    app.add_routes(gateway_routes() + control.routes())
    app.on_response_prepare.append(add_request_id)
    return app


class Simulator:
    """A local wenwen gateway for tests and demos.

    >>> sim = Simulator(api_key="sim-key", mj_step_seconds=0.05)
    >>> base_url = await sim.start()          # "http://127.0.0.1:<port>"
    >>> sim.add_fault(Fault(route="/v1/chat/completions", kind="status", status=500))
    >>> await sim.stop()
    """

    def __init__(
        self,
        api_key: str = "sim-key",
        *,
        mj_step_seconds: float = 1.0,
        chunk_delay: float = 0.01,
        image_px: int = 256,
        max_body_mb: float = 32,
        url_ttl_seconds: float = 3600,
    ) -> None:
        config = SimConfig(
            api_key=api_key,
            mj_step_seconds=mj_step_seconds,
            chunk_delay=chunk_delay,
            image_px=image_px,
            max_body_mb=max_body_mb,
            url_ttl_seconds=url_ttl_seconds,
        )
        self._state = SimState(config)
        self.app = build_app(self._state)
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None

    @property
    def config(self) -> SimConfig:
        return self._state.config

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("simulator is not running")
        return self._base_url

    @property
    def ledger(self) -> Ledger:
        return self._state.ledger

    @property
    def requests(self) -> list[RecordedRequest]:
        return self._state.requests

    @property
    def tasks(self) -> dict[str, MjTask]:
        return self._state.tasks

    @property
    def remix(self) -> bool:
        """The account's remix mode (off by default): variations then wait for a modal."""
        return self._state.remix

    @remix.setter
    def remix(self, on: bool) -> None:
        self._state.remix = on

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen on ``host:port`` (0 picks a free port); returns the base URL."""
        if self._runner is not None:
            raise RuntimeError("simulator already started")
        runner = web.AppRunner(self.app, handler_cancellation=True, shutdown_timeout=_SHUTDOWN_TIMEOUT)
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        bound_host, bound_port = runner.addresses[0][:2]
        shown = host if host not in ("0.0.0.0", "::", "") else bound_host  # noqa: S104
        if ":" in shown:
            shown = f"[{shown}]"
        self._base_url = f"http://{shown}:{bound_port}"
        log.info("wenwen simulator listening on %s", self._base_url)
        return self._base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        self._runner = None
        self._base_url = None

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def add_fault(self, fault: Fault) -> None:
        self._state.faults.add(fault)

    def clear_faults(self) -> None:
        self._state.faults.clear()

    def reset(self) -> None:
        """Forget ledger, request log, faults, tasks and files."""
        self._state.reset()

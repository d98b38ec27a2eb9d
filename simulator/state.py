"""Everything a running simulator remembers, and its configuration."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

from .faults import FaultBook
from .files import FileStore
from .ledger import Ledger
from .mj_tasks import MjTask
from .records import RecordedRequest

MB = 1024 * 1024


@dataclass(frozen=True)
class SimConfig:
    api_key: str = "sim-key"
    mj_step_seconds: float = 1.0
    chunk_delay: float = 0.01
    image_px: int = 256
    max_body_mb: float = 32
    url_ttl_seconds: float = 3600

    @property
    def max_body_bytes(self) -> int:
        return int(self.max_body_mb * MB)


@dataclass
class SimState:
    config: SimConfig
    ledger: Ledger = field(default_factory=Ledger)
    faults: FaultBook = field(default_factory=FaultBook)
    requests: list[RecordedRequest] = field(default_factory=list)
    tasks: dict[str, MjTask] = field(default_factory=dict)
    files: FileStore = field(init=False)
    # The Midjourney account's remix mode: variations and rerolls then ask for a prompt.
    remix: bool = False

    def __post_init__(self) -> None:
        self.files = FileStore(self.config.url_ttl_seconds)

    def reset(self) -> None:
        self.ledger.reset()
        self.faults.clear()
        self.requests.clear()
        self.tasks.clear()
        self.files.clear()
        self.remix = False


STATE = web.AppKey("sim_state", SimState)


def sim_state(request: web.Request) -> SimState:
    return request.app[STATE]

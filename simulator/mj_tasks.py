"""Midjourney task model: time-driven progression, buttons and customId parsing.

A task's status is computed from how long ago it was submitted, in units of
``mj_step_seconds`` (t):  t<1 ``""`` -> t<2 NOT_START -> t<3 SUBMITTED ->
t<5 IN_PROGRESS (10%..90%) -> SUCCESS (100%). A ``[[fail]]`` prompt turns into
FAILURE at t=4. Tasks waiting for a modal (custom zoom, vary region, and any variation
or reroll while remix mode is on) stay MODAL until /mj/submit/modal; their clock starts then.
A DESCRIBE task ends with four numbered prompts in ``prompt`` and ``properties.finalPrompt``.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

SUCCESS = "SUCCESS"
FAILURE = "FAILURE"
MODAL = "MODAL"

_START_STEP = 3.0
_FINISH_STEP = 5.0
_FAIL_STEP = 4.0


@dataclass(frozen=True)
class Button:
    custom_id: str
    emoji: str = ""
    label: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"customId": self.custom_id, "emoji": self.emoji, "label": self.label, "type": 2, "style": 2}


def grid_buttons(job: str) -> list[Button]:
    """The nine buttons under a four-image grid (API reference 6.4)."""
    ups = [Button(f"MJ::JOB::upsample::{i}::{job}", label=f"U{i}") for i in range(1, 5)]
    reroll = [Button(f"MJ::JOB::reroll::0::{job}::SOLO", emoji="🔄")]
    variations = [Button(f"MJ::JOB::variation::{i}::{job}", label=f"V{i}") for i in range(1, 5)]
    return ups + reroll + variations


def upscale_buttons(job: str) -> list[Button]:
    """Buttons under an upscaled single image."""
    return [
        Button(f"MJ::JOB::high_variation::1::{job}::SOLO", emoji="🪄", label="Vary (Strong)"),
        Button(f"MJ::JOB::low_variation::1::{job}::SOLO", emoji="🪄", label="Vary (Subtle)"),
        Button(f"MJ::Outpaint::50::1::{job}::SOLO", emoji="🔍", label="Zoom Out 2x"),
        Button(f"MJ::Outpaint::75::1::{job}::SOLO", emoji="🔍", label="Zoom Out 1.5x"),
        Button(f"MJ::JOB::pan_left::1::{job}::SOLO", emoji="⬅️"),
        Button(f"MJ::JOB::pan_right::1::{job}::SOLO", emoji="➡️"),
        Button(f"MJ::JOB::pan_up::1::{job}::SOLO", emoji="⬆️"),
        Button(f"MJ::JOB::pan_down::1::{job}::SOLO", emoji="⬇️"),
        Button(f"MJ::CustomZoom::{job}", emoji="🔍", label="Custom Zoom"),
    ]


def describe_buttons(job: str) -> list[Button]:
    """Under a Describe result (the plus proxy): pick a prompt, retry, or imagine all four."""
    picks = [Button(f"MJ::Job::PicReader::{i}::{job}", emoji=f"{i}\ufe0f\u20e3") for i in range(1, 5)]
    return [
        *picks,
        Button(f"MJ::Picread::Retry::{job}", emoji="🔄"),
        Button(f"MJ::Job::PicReader::all::{job}", emoji="🎉", label="Imagine all"),
    ]


# customId -> action, following new-api's CoverPlusActionToNormalAction (6.7).
_ACTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^MJ::JOB::upsample(?:_\w+?)?::([1-4])::"), "UPSCALE"),
    (re.compile(r"^MJ::JOB::variation::([1-4])::"), "VARIATION"),
    (re.compile(r"^MJ::JOB::low_variation::"), "LOW_VARIATION"),
    (re.compile(r"^MJ::JOB::high_variation::"), "HIGH_VARIATION"),
    (re.compile(r"^MJ::JOB::reroll::0::.+::SOLO$"), "REROLL"),
    (re.compile(r"^MJ::JOB::pan_(?:left|right|up|down)::"), "PAN"),
    (re.compile(r"^MJ::Outpaint::"), "ZOOM"),
    (re.compile(r"^MJ::CustomZoom::"), "CUSTOM_ZOOM"),
    (re.compile(r"^MJ::Inpaint::"), "INPAINT"),
)
MODAL_ACTIONS = frozenset({"CUSTOM_ZOOM", "INPAINT"})
# With remix mode on, these open a prompt dialog (a modal) before they run.
REMIX_ACTIONS = frozenset({"VARIATION", "LOW_VARIATION", "HIGH_VARIATION", "REROLL"})


def parse_custom_id(custom_id: str) -> tuple[str, int] | None:
    """(action, index) for a button id, or None when the gateway would not know it."""
    for pattern, action in _ACTIONS:
        match = pattern.match(custom_id)
        if match:
            return action, int(match.group(1)) if match.groups() else 1
    return None


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class Phase:
    status: str
    progress: str
    start_ms: int
    finish_ms: int
    done: bool


@dataclass
class MjTask:
    id: str
    action: str
    prompt: str
    mode: str = "RELAX"
    bot_type: str = "MID_JOURNEY"
    state: str = ""
    custom_id: str = ""
    parent_id: str | None = None
    index: int = 0
    fail_reason: str = ""
    refs: list[bytes] = field(default_factory=list)
    size: tuple[int, int] = (256, 256)
    job: str = field(default_factory=lambda: str(uuid.uuid4()))
    submit_ms: int = field(default_factory=now_ms)
    submit_mono: float = field(default_factory=time.monotonic)
    image: bytes | None = None  # rendered lazily, then cached
    # Waiting for /mj/submit/modal (custom zoom, vary region, remix); cleared by the modal.
    awaiting_modal: bool = False
    # DESCRIBE: the four numbered prompts, shown once the task succeeds.
    described: str = ""

    def modal_submitted(self, prompt: str) -> None:
        """The modal's prompt replaces the task's; Midjourney starts on it now."""
        self.prompt = prompt
        self.awaiting_modal = False
        self.submit_ms = now_ms()
        self.submit_mono = time.monotonic()

    @property
    def single(self) -> bool:
        """Upscales yield one picture; everything else a 2x2 grid."""
        return self.action == "UPSCALE"

    def phase(self, step: float, now: float | None = None) -> Phase:
        step = max(step, 1e-6)
        t = ((time.monotonic() if now is None else now) - self.submit_mono) / step

        def at(steps: float) -> int:
            return self.submit_ms + int(steps * step * 1000)

        if self.awaiting_modal:
            return Phase(MODAL, "0%", 0, 0, False)
        if t < _START_STEP:
            status = "" if t < 1 else "NOT_START" if t < 2 else "SUBMITTED"
            return Phase(status, "0%", 0, 0, False)
        if self.fail_reason and t >= _FAIL_STEP:
            return Phase(FAILURE, "0%", at(_START_STEP), at(_FAIL_STEP), True)
        if t < _FINISH_STEP:
            progress = 10 + int((t - _START_STEP) / (_FINISH_STEP - _START_STEP) * 9) * 10
            return Phase("IN_PROGRESS", f"{progress}%", at(_START_STEP), 0, False)
        return Phase(SUCCESS, "100%", at(_START_STEP), at(_FINISH_STEP), True)

    def buttons(self) -> list[Button]:
        if self.action == "DESCRIBE":
            return describe_buttons(self.job)
        return upscale_buttons(self.job) if self.single else grid_buttons(self.job)

    def dto(self, base_url: str, step: float) -> dict[str, Any]:
        """The task object new-api returns from fetch / list-by-condition."""
        phase = self.phase(step)
        image_url = ""
        if phase.status == SUCCESS:
            image_url = f"{base_url}/mj/image/{self.id}"
        elif phase.status == "IN_PROGRESS":
            image_url = f"{base_url}/mj/image/{self.id}?rand={now_ms()}"
        # A Describe task's prompt is its result: empty until it succeeds (midjourney-proxy).
        prompt = self.prompt
        if self.action == "DESCRIBE":
            prompt = self.described if phase.status == SUCCESS else ""
        return {
            "id": self.id,
            "action": self.action,
            "customId": self.custom_id,
            "botType": self.bot_type,
            "prompt": prompt,
            "promptEn": prompt,
            "description": "Submit success",
            "state": self.state,
            "submitTime": self.submit_ms,
            "startTime": phase.start_ms,
            "finishTime": phase.finish_ms,
            "imageUrl": image_url,
            "videoUrl": "",
            "status": phase.status,
            "progress": phase.progress,
            "failReason": self.fail_reason if phase.status == FAILURE else "",
            "buttons": [b.as_dict() for b in self.buttons()] if phase.status == SUCCESS else [],
            "maskBase64": "",
            "properties": {"finalPrompt": prompt, "finalZhPrompt": ""},
        }

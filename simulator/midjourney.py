"""The /mj/* routes: submit imagine/blend/describe/action/modal, fetch, list, seed and the image proxy."""

from __future__ import annotations

import hashlib
import math
import random
import re
from typing import Any

from aiohttp import web

from . import pictures as pics
from .bodies import read_json_object
from .datauri import decode_data_url
from .errors import ApiError, dumps, mj_error
from .mj_tasks import MODAL, MODAL_ACTIONS, REMIX_ACTIONS, SUCCESS, MjTask, now_ms, parse_custom_id
from .prompts import FAIL_MARKER, banned_word
from .state import SimState, sim_state

_ASPECT = re.compile(r"--ar\s+(\d+)\s*:\s*(\d+)")
_DIMENSIONS = {"PORTRAIT": (2, 3), "SQUARE": (1, 1), "LANDSCAPE": (3, 2)}
# midjourney-proxy runs a few jobs at once; later submissions report a queue position.
_CONCURRENCY = 3


def _bad_body(message: str) -> ApiError:
    return mj_error(400, "bind_request_body_failed", 4, result=message)


def submit_reply(
    code: int, description: str, result: str | None, properties: dict[str, Any] | None = None
) -> web.Response:
    """Submit shape (6.3); ``result`` is the task id as a string."""
    body = {"code": code, "description": description, "properties": properties or {}, "result": result}
    return web.json_response(body, dumps=dumps)


def _new_id(state: SimState) -> str:
    """16 digits like midjourney-proxy: millisecond clock plus three random digits."""
    while True:
        task_id = f"{now_ms()}{random.randint(0, 999):03d}"  # noqa: S311 - ids, not secrets
        if task_id not in state.tasks:
            return task_id


def _queued(state: SimState) -> tuple[str, dict[str, Any]]:
    step = state.config.mj_step_seconds
    busy = sum(1 for t in state.tasks.values() if not t.phase(step).done and not t.awaiting_modal)
    ahead = busy - _CONCURRENCY + 1
    if ahead > 0:
        # new-api rewrites the proxy's code 22 (queued) to 1; the description survives.
        return f"排队中，前面还有{ahead}个任务", {"numberOfQueues": ahead}
    return "提交成功", {}


def _accept(state: SimState, task: MjTask, kind: str, code: int = 1) -> web.Response:
    description, properties = _queued(state)
    if code == 21:
        description = "窗口等待"
    state.tasks[task.id] = task
    state.ledger.add(kind, mj_tasks=1)
    return submit_reply(code, description, task.id, properties)


def _decode_refs(raw: Any) -> list[bytes] | None:
    """Decoded base64Array images, or None if any entry is not a readable data URL."""
    refs: list[bytes] = []
    for entry in raw:
        data = decode_data_url(entry) if isinstance(entry, str) else None
        if data is None or pics.open_image(data) is None:
            return None
        refs.append(data)
    return refs


def _size(px: int, aspect: tuple[int, int]) -> tuple[int, int]:
    return pics.fit_size(aspect[0], aspect[1], px)


def _fail_reason(prompt: str) -> str:
    return "Simulated failure: the prompt asked for [[fail]]" if FAIL_MARKER in prompt else ""


async def imagine(request: web.Request) -> web.Response:
    state = sim_state(request)
    body = await read_json_object(request, _bad_body)
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise mj_error(400, "prompt_is_required", 4)
    raw_refs = body.get("base64Array") or []
    refs = _decode_refs(raw_refs) if isinstance(raw_refs, list) else None
    if refs is None:
        return submit_reply(4, "base64格式错误", None)
    word = banned_word(prompt)
    if word is not None:
        return submit_reply(24, "可能包含敏感词", None, {"promptEn": prompt, "bannedWord": word})
    aspect = _ASPECT.search(prompt)
    task = MjTask(
        id=_new_id(state),
        action="IMAGINE",
        prompt=prompt,
        mode=str(body.get("mode") or "RELAX").upper(),
        bot_type=str(body.get("botType") or "MID_JOURNEY"),
        state=str(body.get("state") or ""),
        fail_reason=_fail_reason(prompt),
        refs=refs,
        size=_size(state.config.image_px, (int(aspect[1]), int(aspect[2])) if aspect else (1, 1)),
    )
    return _accept(state, task, "mj_imagine")


async def blend(request: web.Request) -> web.Response:
    state = sim_state(request)
    body = await read_json_object(request, _bad_body)
    raw = body.get("base64Array")
    if not isinstance(raw, list) or not 2 <= len(raw) <= 5:
        return submit_reply(4, "base64List参数错误", None)
    refs = _decode_refs(raw)
    if refs is None:
        return submit_reply(4, "base64格式错误", None)
    dimensions = str(body.get("dimensions") or "SQUARE").upper()
    if dimensions not in _DIMENSIONS:
        return submit_reply(4, "dimensions参数错误", None)
    task = MjTask(
        id=_new_id(state),
        action="BLEND",
        prompt="",
        mode=str(body.get("mode") or "RELAX").upper(),
        bot_type=str(body.get("botType") or "MID_JOURNEY"),
        state=str(body.get("state") or ""),
        refs=refs,
        size=_size(state.config.image_px, _DIMENSIONS[dimensions]),
    )
    return _accept(state, task, "mj_blend")


async def action(request: web.Request) -> web.Response:
    state = sim_state(request)
    body = await read_json_object(request, _bad_body)
    custom_id = body.get("customId")
    parsed = parse_custom_id(custom_id) if isinstance(custom_id, str) else None
    if parsed is None:
        raise mj_error(400, f"unknown_action:{custom_id if isinstance(custom_id, str) else ''}", 4)
    task_id = body.get("taskId")
    if not isinstance(task_id, str | int) or not str(task_id):
        raise mj_error(400, "task_id_is_required", 4)
    parent = state.tasks.get(str(task_id))
    if parent is None:
        raise mj_error(400, "task_not_found", 4)
    if parent.phase(state.config.mj_step_seconds).status != SUCCESS:
        raise mj_error(400, "task_status_not_success", 4)
    kind, index = parsed
    # Custom zoom and vary region always ask for a prompt (and a mask); with remix mode on,
    # variations and rerolls do too. new-api keeps the proxy's code 21 only for the first two.
    modal = kind in MODAL_ACTIONS or (state.remix and kind in REMIX_ACTIONS)
    task = MjTask(
        id=_new_id(state),
        action=kind,
        prompt=parent.prompt,
        mode=str(body.get("mode") or parent.mode).upper(),
        bot_type=parent.bot_type,
        state=str(body.get("state") or ""),
        custom_id=custom_id or "",
        parent_id=parent.id,
        index=index,
        fail_reason=_fail_reason(parent.prompt),
        size=parent.size,
        awaiting_modal=modal,
    )
    return _accept(state, task, "mj_action", 21 if kind in MODAL_ACTIONS else 1)


def described_prompts(data: bytes) -> str:
    """Four numbered prompts about the picture, the way Midjourney's /describe lists them."""
    info = pics.inspect(data)
    colour, width, height = (info.colour, info.width, info.height) if info else ("grey", 1, 1)
    divisor = math.gcd(width, height) or 1
    ar = f"--ar {width // divisor}:{height // divisor}"
    prompts = (
        f"a {colour} abstract composition, flat colour field, minimalism {ar}",
        f"a minimal {colour} background with soft gradients, studio lighting {ar}",
        f"{colour} paper texture, macro photography, muted tones {ar}",
        f"a simple {colour} poster, clean graphic design {ar}",
    )
    return "\n\n".join(f"{n}\ufe0f\u20e3 {prompt}" for n, prompt in enumerate(prompts, 1))


async def describe(request: web.Request) -> web.Response:
    """Describe: one image as a data URL in ``base64``; the task ends with four prompts."""
    state = sim_state(request)
    body = await read_json_object(request, _bad_body)
    raw = body.get("base64")
    data = decode_data_url(raw) if isinstance(raw, str) and raw else None
    if data is None or pics.open_image(data) is None:
        return submit_reply(4, "base64格式错误", None)
    info = pics.inspect(data)
    task = MjTask(
        id=_new_id(state),
        action="DESCRIBE",
        prompt="",
        mode=str(body.get("mode") or "RELAX").upper(),
        bot_type=str(body.get("botType") or "MID_JOURNEY"),
        state=str(body.get("state") or ""),
        size=(info.width, info.height) if info else (256, 256),
        described=described_prompts(data),
        image=data,  # the task's imageUrl shows the described picture
    )
    return _accept(state, task, "mj_describe")


async def modal(request: web.Request) -> web.Response:
    """The answer to a task waiting in MODAL: its new prompt (and mask for vary region).

    The same task then runs (the plus proxy answers with its id); a task that is not
    waiting for a modal, or a modal without what it needs, is refused with code 4.
    """
    state = sim_state(request)
    body = await read_json_object(request, _bad_body)
    task_id = body.get("taskId")
    if not isinstance(task_id, str | int) or not str(task_id):
        raise mj_error(400, "task_id_is_required", 4)
    task = state.tasks.get(str(task_id))
    if task is None:
        raise mj_error(400, "task_not_found", 4)
    if task.phase(state.config.mj_step_seconds).status != MODAL:
        return submit_reply(4, "任务状态错误", None)
    prompt = body.get("prompt")
    if task.action == "INPAINT" and not body.get("maskBase64"):
        return submit_reply(4, "maskBase64不能为空", None)
    if not isinstance(prompt, str) or not prompt.strip():
        return submit_reply(4, "prompt不能为空", None)
    word = banned_word(prompt)
    if word is not None:
        return submit_reply(24, "可能包含敏感词", None, {"promptEn": prompt, "bannedWord": word})
    task.modal_submitted(prompt.strip())
    task.fail_reason = _fail_reason(task.prompt)
    state.ledger.add("mj_modal", mj_tasks=1)
    return submit_reply(1, "提交成功", task.id)


def _known(request: web.Request) -> MjTask:
    task = sim_state(request).tasks.get(request.match_info["id"])
    if task is None:
        raise mj_error(400, "task_no_found", 4)
    return task


def _base_url(request: web.Request) -> str:
    return str(request.url.origin())


async def fetch(request: web.Request) -> web.Response:
    task = _known(request)
    return web.json_response(
        task.dto(_base_url(request), sim_state(request).config.mj_step_seconds), dumps=dumps
    )


async def list_by_condition(request: web.Request) -> web.Response:
    state = sim_state(request)
    body = await read_json_object(request, _bad_body)
    ids = body.get("ids")
    found = [state.tasks[str(i)] for i in ids if str(i) in state.tasks] if isinstance(ids, list) else []
    step = state.config.mj_step_seconds
    return web.json_response([t.dto(_base_url(request), step) for t in found], dumps=dumps)


def seed_of(task: MjTask) -> str:
    return str(int(hashlib.sha256(task.id.encode()).hexdigest(), 16) % 4_294_967_295)


async def image_seed(request: web.Request) -> web.Response:
    task = _known(request)
    if task.phase(sim_state(request).config.mj_step_seconds).status != SUCCESS:
        raise mj_error(400, "task_status_not_success", 4)
    return submit_reply(1, "成功", seed_of(task))


def render(state: SimState, task: MjTask) -> bytes:
    """The task's final picture: a 2x2 grid, or one cell of the parent grid for upscales."""
    if task.image is not None:
        return task.image
    parent = state.tasks.get(task.parent_id or "")
    refs = [img for data in task.refs if (img := pics.open_image(data)) is not None]
    parent_img = pics.open_image(render(state, parent)) if parent else None
    if task.single and parent_img is not None:
        img = pics.quadrant(parent_img, task.index, max(task.size))
    else:
        sources = refs or ([parent_img] if parent_img is not None else None)
        label = task.prompt or "blend"
        img = pics.mj_grid(f"{task.action.lower()} {label}", task.id, task.size, sources)
    task.image = pics.encode_png(img)
    return task.image


async def image(request: web.Request) -> web.Response:
    """GET /mj/image/{id}: the gateway's image proxy (no auth)."""
    state = sim_state(request)
    task = state.tasks.get(request.match_info["id"])
    status = task.phase(state.config.mj_step_seconds).status if task else ""
    if task is None or status not in (SUCCESS, "IN_PROGRESS"):
        return web.json_response({"error": "mj_no_image"}, status=404)
    png = render(state, task)
    if status != SUCCESS:
        opened = pics.open_image(png)
        if opened is not None:
            png = pics.encode_png(pics.preview(opened))
    return web.Response(body=png, content_type="image/png")

"""The simulator's own routes under /__sim: fault control, ledger, request log, files.

They need no key, so another process (an end-to-end bot run) can steer the
simulator over HTTP.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .errors import dumps
from .faults import Fault
from .state import sim_state


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=dumps)


async def add_fault(request: web.Request) -> web.Response:
    try:
        fault = Fault.from_json(await request.json())
    except (ValueError, TypeError) as exc:
        return _json({"error": str(exc)}, status=400)
    sim_state(request).faults.add(fault)
    return _json({"fault": fault.as_dict()}, status=201)


async def list_faults(request: web.Request) -> web.Response:
    return _json({"faults": sim_state(request).faults.active()})


async def clear_faults(request: web.Request) -> web.Response:
    sim_state(request).faults.clear()
    return _json({"cleared": True})


async def usage(request: web.Request) -> web.Response:
    return _json(sim_state(request).ledger.as_dict())


async def requests(request: web.Request) -> web.Response:
    return _json([r.as_dict() for r in sim_state(request).requests])


async def tasks(request: web.Request) -> web.Response:
    state = sim_state(request)
    step = state.config.mj_step_seconds
    return _json(
        [
            {
                "id": t.id,
                "action": t.action,
                "prompt": t.prompt,
                "mode": t.mode,
                "parent_id": t.parent_id,
                "status": t.phase(step).status,
            }
            for t in state.tasks.values()
        ]
    )


async def reset(request: web.Request) -> web.Response:
    sim_state(request).reset()
    return _json({"reset": True})


async def file(request: web.Request) -> web.Response:
    """Generated images; they expire like dall-e URLs (404 afterwards)."""
    stored = sim_state(request).files.get(request.match_info["name"])
    if stored is None:
        return _json({"error": "file not found or expired"}, status=404)
    return web.Response(body=stored.data, content_type=stored.content_type)


def routes() -> list[web.RouteDef]:
    return [
        web.post("/__sim/faults", add_fault),
        web.get("/__sim/faults", list_faults),
        web.delete("/__sim/faults", clear_faults),
        web.get("/__sim/usage", usage),
        web.get("/__sim/requests", requests),
        web.get("/__sim/tasks", tasks),
        web.post("/__sim/reset", reset),
        web.get("/__sim/files/{name}", file),
    ]

"""The /mj/* routes: submit, progression, actions, queries, seed, image proxy."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from simulator import Simulator

from .util import AUTH, data_url, decode_png, mj_finished, picture

STEP = 0.05
ORDER = ["", "NOT_START", "SUBMITTED", "IN_PROGRESS", "SUCCESS"]


async def submit(client: httpx.AsyncClient, route: str, **body: Any) -> dict[str, Any]:
    response = await client.post(f"/mj/submit/{route}", json=body)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def fetch(client: httpx.AsyncClient, task_id: str) -> dict[str, Any]:
    response = await client.get(f"/mj/task/{task_id}/fetch")
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def finished(client: httpx.AsyncClient, task_id: str) -> dict[str, Any]:
    return await mj_finished(client, task_id, poll=STEP / 2)


async def imagine_done(client: httpx.AsyncClient, prompt: str = "Cat") -> dict[str, Any]:
    result = await submit(client, "imagine", prompt=prompt, mode="FAST")
    return await finished(client, result["result"])


@pytest.fixture
async def slow_client() -> AsyncIterator[httpx.AsyncClient]:
    """A simulator with steps long enough to observe every status."""
    sim = Simulator(mj_step_seconds=0.1, image_px=64)
    await sim.start()
    try:
        async with httpx.AsyncClient(base_url=sim.base_url, headers=AUTH) as client:
            yield client
    finally:
        await sim.stop()


async def test_imagine_progresses_to_success(slow_client: httpx.AsyncClient) -> None:
    started = time.monotonic()
    result = await submit(
        slow_client, "imagine", prompt="Cat --v 6.1", mode="RELAX", base64Array=[], notifyHook=""
    )
    assert result["code"] == 1
    assert result["description"] == "提交成功"
    assert re.fullmatch(r"\d{16}", result["result"])
    seen: list[tuple[str, str]] = []
    while not seen or seen[-1][0] != "SUCCESS":
        task = await fetch(slow_client, result["result"])
        if not seen or seen[-1] != (task["status"], task["progress"]):
            seen.append((task["status"], task["progress"]))
        await asyncio.sleep(0.01)
    elapsed = time.monotonic() - started
    assert 0.4 <= elapsed < 2.0  # five steps of 0.1 s
    statuses = [s for s, _ in seen]
    assert statuses[0] == "" and seen[0][1] == "0%"
    assert statuses == sorted(statuses, key=ORDER.index)
    assert {"NOT_START", "SUBMITTED", "IN_PROGRESS"} <= set(statuses)
    progress = [int(p.rstrip("%")) for s, p in seen if s == "IN_PROGRESS"]
    assert progress == sorted(progress) and len(progress) >= 3
    assert all(10 <= p <= 90 for p in progress)
    assert task["progress"] == "100%"
    assert task["action"] == "IMAGINE"
    assert task["finishTime"] >= task["startTime"] >= task["submitTime"] > 0
    assert task["imageUrl"].endswith(f"/mj/image/{task['id']}")


async def test_success_task_shape_buttons_and_image(client: httpx.AsyncClient, sim: Simulator) -> None:
    task = await imagine_done(client)
    labels = [(b["label"], b["emoji"]) for b in task["buttons"]]
    assert labels == [
        ("U1", ""),
        ("U2", ""),
        ("U3", ""),
        ("U4", ""),
        ("", "🔄"),
        ("V1", ""),
        ("V2", ""),
        ("V3", ""),
        ("V4", ""),
    ]
    job = sim.tasks[task["id"]].job
    assert task["buttons"][0]["customId"] == f"MJ::JOB::upsample::1::{job}"
    assert task["buttons"][4]["customId"] == f"MJ::JOB::reroll::0::{job}::SOLO"
    assert all(b["type"] == 2 and b["style"] == 2 for b in task["buttons"])
    assert sim.tasks[task["id"]].mode == "FAST"
    async with httpx.AsyncClient() as no_auth:
        image = await no_auth.get(task["imageUrl"])
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    assert decode_png(image.content).size == (64, 64)


async def test_upscale_gives_single_image_and_post_upscale_buttons(client: httpx.AsyncClient) -> None:
    grid = await imagine_done(client, "a lighthouse --ar 2:1")
    result = await submit(
        client, "action", customId=grid["buttons"][1]["customId"], taskId=grid["id"], chooseSameChannel=True
    )
    assert result["code"] == 1
    upscaled = await finished(client, result["result"])
    assert upscaled["action"] == "UPSCALE"
    assert upscaled["customId"] == grid["buttons"][1]["customId"]
    labels = [b["label"] or b["emoji"] for b in upscaled["buttons"]]
    assert labels == [
        *("Vary (Strong)", "Vary (Subtle)", "Zoom Out 2x", "Zoom Out 1.5x"),
        *("⬅️", "➡️", "⬆️", "⬇️", "Custom Zoom"),
    ]
    ids = [b["customId"] for b in upscaled["buttons"]]
    assert ids[0].startswith("MJ::JOB::high_variation::1::") and ids[1].startswith(
        "MJ::JOB::low_variation::1::"
    )
    assert (
        ids[2].startswith("MJ::Outpaint::")
        and ids[4].startswith("MJ::JOB::pan_left::1::")
        and ids[4].endswith("::SOLO")
    )
    grid_img = decode_png((await client.get(grid["imageUrl"])).content)
    single = decode_png((await client.get(upscaled["imageUrl"])).content)
    assert grid_img.size == (64, 32)
    assert single.size == (64, 32)  # one cell of the grid, scaled back up
    # Every post-upscale button is pressable and yields a grid task (Custom Zoom after a modal).
    for custom_id in ids:
        follow = await submit(client, "action", customId=custom_id, taskId=upscaled["id"])
        assert follow["code"] == (21 if custom_id.startswith("MJ::CustomZoom::") else 1), custom_id
    follow = await submit(client, "action", customId=ids[7], taskId=upscaled["id"])
    done = await finished(client, follow["result"])
    assert done["action"] == "PAN"
    assert len(done["buttons"]) == 9


async def test_action_rules(client: httpx.AsyncClient) -> None:
    fresh = await submit(client, "imagine", prompt="dog")
    task = await fetch(client, fresh["result"])
    custom_id = "MJ::JOB::upsample::1::00000000-0000-0000-0000-000000000000"
    not_done = await client.post("/mj/submit/action", json={"customId": custom_id, "taskId": task["id"]})
    assert not_done.status_code == 400
    assert not_done.json() == {"description": "task_status_not_success ", "type": "upstream_error", "code": 4}
    missing = await client.post(
        "/mj/submit/action", json={"customId": custom_id, "taskId": "1111111111111111"}
    )
    assert missing.status_code == 400
    assert missing.json()["description"] == "task_not_found "
    unknown = await client.post(
        "/mj/submit/action", json={"customId": "MJ::BOOKMARK::x", "taskId": task["id"]}
    )
    assert unknown.status_code == 400
    assert unknown.json()["description"] == "unknown_action:MJ::BOOKMARK::x "
    done = await finished(client, task["id"])
    modal = await submit(client, "action", customId=f"MJ::CustomZoom::{done['id']}", taskId=done["id"])
    assert modal["code"] == 21
    assert (await fetch(client, modal["result"]))["status"] == "MODAL"


async def test_fetch_list_and_seed(client: httpx.AsyncClient) -> None:
    unknown = await client.get("/mj/task/9999999999999999/fetch")
    assert unknown.status_code == 400
    assert unknown.json() == {"description": "task_no_found ", "type": "upstream_error", "code": 4}
    done = await imagine_done(client)
    pending = (await submit(client, "imagine", prompt="later"))["result"]
    listed = await client.post("/mj/task/list-by-condition", json={"ids": [done["id"], "123", pending]})
    assert sorted(t["id"] for t in listed.json()) == sorted([done["id"], pending])
    assert (await client.post("/mj/task/list-by-condition", json={"ids": []})).json() == []
    seed = await client.get(f"/mj/task/{done['id']}/image-seed")
    assert seed.status_code == 200
    body = seed.json()
    assert body["code"] == 1 and body["description"] == "成功"
    assert re.fullmatch(r"\d+", body["result"])
    assert (await client.get(f"/mj/task/{done['id']}/image-seed")).json()["result"] == body["result"]
    assert (await client.get("/mj/task/9999999999999999/image-seed")).status_code == 400
    assert (await client.get(f"/mj/task/{pending}/image-seed")).status_code == 400


async def test_banned_and_failing_prompts(client: httpx.AsyncClient, sim: Simulator) -> None:
    banned = await submit(client, "imagine", prompt="some NSFW thing")
    assert banned["code"] == 24
    assert banned["properties"]["bannedWord"] == "nsfw"
    assert banned["result"] is None
    failing = await submit(client, "imagine", prompt="a castle [[fail]]")
    task = await finished(client, failing["result"])
    assert task["status"] == "FAILURE"
    assert task["failReason"]
    assert task["buttons"] == []
    assert sim.ledger.mj_tasks == 1  # the banned prompt was not charged
    empty = await client.post("/mj/submit/imagine", json={"prompt": " "})
    assert empty.status_code == 400
    assert empty.json()["description"] == "prompt_is_required "


async def test_blend_validation_and_success(client: httpx.AsyncClient) -> None:
    one = [data_url(picture("red"))]
    assert (await submit(client, "blend", base64Array=one))["description"] == "base64List参数错误"
    assert (await submit(client, "blend", base64Array=one * 6))["code"] == 4
    bad = await submit(
        client, "blend", base64Array=["data:image/png;base64,xxx1", "data:image/png;base64,xxx2"]
    )
    assert (bad["code"], bad["description"]) == (4, "base64格式错误")
    good = await submit(
        client,
        "blend",
        base64Array=[data_url(picture("red")), data_url(picture("blue"))],
        dimensions="PORTRAIT",
        mode="RELAX",
    )
    assert good["code"] == 1
    task = await finished(client, good["result"])
    assert task["action"] == "BLEND"
    image = decode_png((await client.get(task["imageUrl"])).content)
    assert image.size == (43, 64)  # 2:3 portrait


async def test_imagine_with_reference_image_and_bad_reference(client: httpx.AsyncClient) -> None:
    ok = await submit(client, "imagine", prompt="like this", base64Array=[data_url(picture("green"))])
    assert ok["code"] == 1
    bad = await submit(client, "imagine", prompt="like this", base64Array=["not a data url"])
    assert (bad["code"], bad["description"]) == (4, "base64格式错误")


async def test_queue_position_reported_when_busy(client: httpx.AsyncClient) -> None:
    results = [await submit(client, "imagine", prompt=f"cat {i}") for i in range(5)]
    assert all(r["code"] == 1 for r in results)
    assert results[3]["description"] == "排队中，前面还有1个任务"
    assert results[4]["properties"] == {"numberOfQueues": 2}


async def test_image_proxy_before_success(client: httpx.AsyncClient) -> None:
    result = await submit(client, "imagine", prompt="cat")
    early = await client.get(f"/mj/image/{result['result']}")
    assert early.status_code == 404
    assert (await client.get("/mj/image/0000000000000000")).status_code == 404


async def test_describe_ends_with_four_numbered_prompts(client: httpx.AsyncClient) -> None:
    bad = await submit(client, "describe", base64="data:image/png;base64,bm90IGFuIGltYWdl")
    assert bad["code"] == 4 and bad["result"] is None
    accepted = await submit(client, "describe", base64=data_url(picture("red", size=(64, 32))))
    assert accepted["code"] == 1
    waiting = await fetch(client, accepted["result"])
    assert waiting["action"] == "DESCRIBE" and waiting["prompt"] == ""
    done = await finished(client, accepted["result"])
    assert done["status"] == "SUCCESS"
    prompts = re.findall(r"([1-4])\ufe0f\u20e3 (.+)", done["prompt"])
    assert [n for n, _ in prompts] == ["1", "2", "3", "4"]
    assert all("red" in text and text.endswith("--ar 2:1") for _, text in prompts)
    assert done["properties"]["finalPrompt"] == done["prompt"]
    assert any("PicReader" in b["customId"] for b in done["buttons"])
    shown = await client.get(f"/mj/image/{done['id']}")
    assert decode_png(shown.content).size == (64, 32), "imageUrl shows the described picture"


async def test_custom_zoom_waits_for_the_modal_then_runs_with_its_prompt(
    client: httpx.AsyncClient, sim: Simulator
) -> None:
    grid = await imagine_done(client, "a tower")
    upscaled = await finished(
        client,
        (await submit(client, "action", customId=grid["buttons"][0]["customId"], taskId=grid["id"]))[
            "result"
        ],
    )
    [zoom] = [b for b in upscaled["buttons"] if b["customId"].startswith("MJ::CustomZoom::")]
    assert zoom["label"] == "Custom Zoom"
    waiting = await submit(client, "action", customId=zoom["customId"], taskId=upscaled["id"])
    assert waiting["code"] == 21
    early = await submit(client, "modal", taskId=grid["id"], prompt="x")
    assert early["code"] == 4, "only a task waiting in MODAL takes a modal"
    empty = await submit(client, "modal", taskId=waiting["result"], prompt=" ")
    assert empty["code"] == 4
    await asyncio.sleep(STEP * 6)
    assert (await fetch(client, waiting["result"]))["status"] == "MODAL", "it waits however long"
    answered = await submit(client, "modal", taskId=waiting["result"], prompt="a tower at night --zoom 2")
    assert answered == {"code": 1, "description": "提交成功", "properties": {}, "result": waiting["result"]}
    done = await finished(client, waiting["result"])
    assert done["status"] == "SUCCESS" and done["prompt"] == "a tower at night --zoom 2"
    assert sim.ledger.requests["mj_modal"] == 1
    missing = await client.post("/mj/submit/modal", json={"taskId": "1111111111111111", "prompt": "x"})
    assert missing.status_code == 400 and missing.json()["description"] == "task_not_found "


async def test_remix_mode_makes_variations_wait_for_a_prompt(
    client: httpx.AsyncClient, sim: Simulator
) -> None:
    grid = await imagine_done(client, "a boat")
    v1 = next(b["customId"] for b in grid["buttons"] if b["label"] == "V1")
    plain = await submit(client, "action", customId=v1, taskId=grid["id"])
    assert (await finished(client, plain["result"]))["status"] == "SUCCESS", "remix off: runs at once"
    sim.remix = True
    remixed = await submit(client, "action", customId=v1, taskId=grid["id"])
    assert remixed["code"] == 1, "new-api turns the proxy's 21 into 1 for variations"
    await asyncio.sleep(STEP * 6)
    assert (await fetch(client, remixed["result"]))["status"] == "MODAL"
    await submit(client, "modal", taskId=remixed["result"], prompt="a boat in a storm")
    done = await finished(client, remixed["result"])
    assert done["action"] == "VARIATION" and done["prompt"] == "a boat in a storm"

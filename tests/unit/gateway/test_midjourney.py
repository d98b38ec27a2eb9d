"""Midjourney submit codes, busy retries, task parsing; embeddings and models."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from bot import errors
from bot.gateway.types import MjTask
from tests.unit.gateway.conftest import BASE, KEY, MakeClient, json_reply

TASK_ID = "1730621826053455"
BIG_ID = "98765432109876543210"  # more digits than a float keeps

TASK = {
    "id": TASK_ID,
    "action": "IMAGINE",
    "customId": "",
    "prompt": "pig --v 6.1",
    "promptEn": "pig --v 6.1",
    "description": "Submit success",
    "submitTime": 1730621826053,
    "imageUrl": "",
    "status": "IN_PROGRESS",
    "progress": "37%",
    "failReason": None,
    "buttons": None,
    "properties": {"finalPrompt": "pig --v 6.1"},
}


def submit(code: int, result: object = TASK_ID, description: str = "提交成功") -> httpx.Response:
    return json_reply({"code": code, "description": description, "properties": {}, "result": result})


class Recorder:
    def __init__(self, *answers: httpx.Response) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []
        self.times: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.times.append(time.monotonic())
        return self.answers[min(len(self.requests), len(self.answers)) - 1]


@pytest.mark.parametrize("code", [1, 21, 22])
async def test_accepted_codes_return_the_task_id(make_client: MakeClient, code: int) -> None:
    gateway = Recorder(submit(code))
    task_id = await make_client(gateway).mj_imagine(
        "a cat --ar 16:9", images=["data:image/png;base64,AA=="], state="job-1"
    )
    assert task_id == TASK_ID
    (request,) = gateway.requests
    assert str(request.url) == f"{BASE}/mj/submit/imagine"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert json.loads(request.content) == {
        "prompt": "a cat --ar 16:9",
        "base64Array": ["data:image/png;base64,AA=="],
        "mode": "RELAX",
        "state": "job-1",
    }


@pytest.mark.parametrize(
    ("raw_json", "expected"),
    [
        (b'{"code":1,"description":"ok","result":1320098173412546}', "1320098173412546"),
        (b'{"code":1,"description":"ok","result":"1320098173412546"}', "1320098173412546"),
        (f'{{"code":1,"description":"ok","result":{BIG_ID}}}'.encode(), BIG_ID),
        (f'{{"code":22,"description":"queued","result":"{BIG_ID}"}}'.encode(), BIG_ID),
    ],
)
async def test_task_ids_are_exact_strings(make_client: MakeClient, raw_json: bytes, expected: str) -> None:
    def handler(_r: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "application/json"}, content=raw_json)

    task_id = await make_client(handler).mj_imagine("cat")
    assert task_id == expected
    assert isinstance(task_id, str)


async def test_float_task_id_is_refused(make_client: MakeClient) -> None:
    gateway = Recorder(json_reply({"code": 1, "result": 1.3200981734125462e15}))
    with pytest.raises(errors.MalformedResponse):
        await make_client(gateway).mj_imagine("cat")


async def test_banned_prompt_is_mj_banned_and_not_retried(make_client: MakeClient) -> None:
    gateway = Recorder(submit(24, None, "可能包含敏感词"))
    with pytest.raises(errors.MjBanned) as info:
        await make_client(gateway).mj_imagine("bad words")
    assert info.value.code == 24
    assert len(gateway.requests) == 1


async def test_busy_queue_is_retried_with_backoff_then_mj_busy(make_client: MakeClient) -> None:
    gateway = Recorder(submit(23, None, "队列已满，请稍后尝试"))
    client = make_client(gateway, mj_busy_attempts=3, mj_busy_wait=0.01)
    with pytest.raises(errors.MjBusy) as info:
        await client.mj_imagine("cat")
    assert info.value.code == 23
    assert len(gateway.requests) == 3
    first_gap, second_gap = (b - a for a, b in zip(gateway.times, gateway.times[1:], strict=False))
    assert first_gap >= 0.009
    assert second_gap >= 0.019  # exponential


async def test_busy_queue_then_accepted(make_client: MakeClient) -> None:
    gateway = Recorder(submit(23, None, "队列已满"), submit(1))
    assert await make_client(gateway, mj_busy_attempts=3).mj_imagine("cat") == TASK_ID
    assert len(gateway.requests) == 2


async def test_http_429_code_30_is_retried_as_busy(make_client: MakeClient) -> None:
    overloaded = json_reply({"description": "当前分组负载已饱和 ", "type": "upstream_error", "code": 30}, 429)
    gateway = Recorder(overloaded)
    with pytest.raises(errors.MjBusy) as info:
        await make_client(gateway, mj_busy_attempts=2).mj_imagine("cat")
    assert info.value.code == 30
    assert len(gateway.requests) == 2


async def test_validation_failure_is_mj_rejected_with_description(make_client: MakeClient) -> None:
    gateway = Recorder(submit(4, None, "base64List参数错误"))
    with pytest.raises(errors.MjRejected) as info:
        await make_client(gateway).mj_blend(["data:image/png;base64,AA=="])
    exc = info.value
    assert type(exc) is errors.MjRejected
    assert exc.code == 4
    assert exc.description == "base64List参数错误"
    assert "base64List参数错误" in exc.user_message
    assert len(gateway.requests) == 1


async def test_a_rejection_that_echoes_the_key_is_redacted(make_client: MakeClient) -> None:
    gateway = Recorder(submit(4, None, f"invalid mj-api-secret {KEY}"))
    with pytest.raises(errors.MjRejected) as info:
        await make_client(gateway).mj_imagine("cat")
    exc = info.value
    assert KEY not in f"{exc} {exc.description} {exc.user_message}"
    assert KEY.removeprefix("sk-") not in exc.description
    with pytest.raises(errors.MjRejected) as info:
        await make_client(Recorder(submit(3, None, f"key {KEY} has no seed"))).mj_image_seed("1")
    assert KEY not in info.value.description


async def test_accepted_code_without_result_is_a_malformed_answer(make_client: MakeClient) -> None:
    # Telling the user "Midjourney refused: 提交成功" would be nonsense; the answer is broken.
    with pytest.raises(errors.MalformedResponse):
        await make_client(Recorder(submit(1, None))).mj_imagine("cat")


async def test_gateway_side_mj_error_is_bad_request(make_client: MakeClient) -> None:
    gateway = Recorder(
        json_reply({"description": "task_no_found ", "type": "upstream_error", "code": 4}, 400)
    )
    with pytest.raises(errors.BadRequest) as info:
        await make_client(gateway).mj_fetch("404")
    assert info.value.detail == "task_no_found"


async def test_blend_and_action_bodies(make_client: MakeClient) -> None:
    gateway = Recorder(submit(1))
    client = make_client(gateway)
    images = ["data:image/png;base64,AA==", "data:image/jpeg;base64,BB=="]
    await client.mj_blend(images, dimensions="PORTRAIT", mode="FAST", state="job-2")
    await client.mj_action(BIG_ID, "MJ::JOB::upsample::1::82c51c9d", state="job-3")
    blend, action = gateway.requests
    assert blend.url.path == "/mj/submit/blend"
    assert json.loads(blend.content) == {
        "base64Array": images,
        "dimensions": "PORTRAIT",
        "mode": "FAST",
        "state": "job-2",
    }
    assert action.url.path == "/mj/submit/action"
    assert json.loads(action.content) == {
        "taskId": BIG_ID,
        "customId": "MJ::JOB::upsample::1::82c51c9d",
        "chooseSameChannel": True,
        "state": "job-3",
    }


async def test_fetch_parses_progress_and_state(make_client: MakeClient) -> None:
    gateway = Recorder(json_reply(TASK))
    task = await make_client(gateway).mj_fetch(TASK_ID)
    assert gateway.requests[0].method == "GET"
    assert str(gateway.requests[0].url) == f"{BASE}/mj/task/{TASK_ID}/fetch"
    assert task.id == TASK_ID
    assert task.progress == "37%"
    assert task.status == "IN_PROGRESS"
    assert not task.is_final
    assert task.buttons is None


def test_task_parsing_edge_cases() -> None:
    fresh = MjTask.model_validate({"id": int(BIG_ID), "status": "", "progress": ""})
    assert fresh.id == BIG_ID
    assert fresh.progress == ""
    assert not fresh.is_final
    for status in ("SUCCESS", "FAILURE", "CANCEL"):
        assert MjTask.model_validate({"id": "1", "status": status}).is_final
    done = MjTask.model_validate(
        {
            "id": "1",
            "status": "SUCCESS",
            "imageUrl": "https://gw/mj/image/1",
            "buttons": [
                {"customId": "MJ::JOB::upsample::1::x", "emoji": "", "label": "U1", "type": 2, "style": 2}
            ],
        }
    )
    assert done.buttons is not None
    assert done.buttons[0].customId == "MJ::JOB::upsample::1::x"


async def test_list_by_condition(make_client: MakeClient) -> None:
    gateway = Recorder(json_reply([TASK, {**TASK, "id": BIG_ID, "status": "SUCCESS", "progress": "100%"}]))
    tasks = await make_client(gateway).mj_list([TASK_ID, BIG_ID, "missing"])
    request = gateway.requests[0]
    assert request.method == "POST"
    assert request.url.path == "/mj/task/list-by-condition"
    assert json.loads(request.content) == {"ids": [TASK_ID, BIG_ID, "missing"]}
    assert [(t.id, t.progress) for t in tasks] == [(TASK_ID, "37%"), (BIG_ID, "100%")]


async def test_list_by_condition_empty_and_wrong_shape(make_client: MakeClient) -> None:
    assert await make_client(Recorder(json_reply([]))).mj_list(["1"]) == []
    with pytest.raises(errors.MalformedResponse):
        await make_client(Recorder(json_reply({"data": []}))).mj_list(["1"])


async def test_image_seed(make_client: MakeClient) -> None:
    gateway = Recorder(json_reply({"code": 1, "description": "成功", "result": 1456789012}))
    assert await make_client(gateway).mj_image_seed(TASK_ID) == "1456789012"
    assert gateway.requests[0].url.path == f"/mj/task/{TASK_ID}/image-seed"
    with pytest.raises(errors.MjRejected):
        await make_client(Recorder(json_reply({"code": 3, "description": "not found"}))).mj_image_seed("1")
    with pytest.raises(errors.MalformedResponse):
        await make_client(Recorder(json_reply(TASK))).mj_image_seed("1")


# --- embeddings and models -----------------------------------------------------------------


async def test_embeddings_are_ordered_by_index(make_client: MakeClient) -> None:
    gateway = Recorder(
        json_reply(
            {
                "object": "list",
                "data": [
                    {"object": "embedding", "index": 1, "embedding": [0.5, 0.6]},
                    {"object": "embedding", "index": 0, "embedding": [0.1, 0.2]},
                ],
                "model": "text-embedding-3-small",
                "usage": {"prompt_tokens": 8, "total_tokens": 8},
            },
            headers={"x-request-id": "emb-1"},
        )
    )
    vectors, tokens, request_id = await make_client(gateway).embeddings(
        ["first", "second"], "text-embedding-3-small"
    )
    assert vectors == [[0.1, 0.2], [0.5, 0.6]]
    assert tokens == 8
    assert request_id == "emb-1"
    assert json.loads(gateway.requests[0].content) == {
        "model": "text-embedding-3-small",
        "input": ["first", "second"],
    }


async def test_embeddings_count_mismatch_is_malformed(make_client: MakeClient) -> None:
    gateway = Recorder(json_reply({"data": [{"index": 0, "embedding": [0.1]}]}))
    with pytest.raises(errors.MalformedResponse):
        await make_client(gateway).embeddings(["a", "b"], "m")


async def test_models(make_client: MakeClient) -> None:
    gateway = Recorder(
        json_reply(
            {
                "success": True,
                "object": "list",
                "data": [
                    {
                        "id": "gpt-4o",
                        "object": "model",
                        "owned_by": "openai",
                        "supported_endpoint_types": ["openai"],
                    },
                    {"id": "claude-3-5-sonnet-20241022", "object": "model", "permission": [], "root": "x"},
                ],
            }
        )
    )
    assert await make_client(gateway).models() == ["gpt-4o", "claude-3-5-sonnet-20241022"]
    request = gateway.requests[0]
    assert (request.method, request.url.path) == ("GET", "/v1/models")
    assert request.headers["authorization"] == f"Bearer {KEY}"

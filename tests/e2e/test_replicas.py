"""Several replicas of the real entry point on one PostgreSQL database (and Redis).

Webhooks behind a round-robin balancer with Telegram redelivering some updates; Midjourney
tasks followed by one replica each, also when one replica is killed; one rate limit for
all replicas; one poller at a time with failover; /metrics.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import text

from simulator import Fault
from storage import Database
from tests.e2e.replicas import Replicas
from tests.fakes.telegram_api import JSON

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(240)]


def echo_replies(world: Replicas, sent: list[tuple[dict, int]]) -> list[int]:
    """For each message sent, how many chat answers it got."""
    return [
        len([m for m in world.replies_to(chat, message_id) if "Echo:" in str(m.get("text"))])
        for chat, message_id in sent
    ]


async def test_webhook_replicas_answer_every_message_exactly_once(tmp_path: Path, database_url: str) -> None:
    async with Replicas(tmp_path, database_url, redeliver_fraction=0.1) as world:
        await world.start(3)
        users = [world.tg.user(id=7000 + n, first_name=f"W{n}", username=f"w{n}") for n in range(10)]
        sent = []
        for round_number in range(3):
            for user in users:
                chat = world.tg.private_chat(user)
                update = world.tg.send_text(chat, user, f"hello {round_number} from {user['first_name']}")
                sent.append((chat, update["message"]["message_id"]))
        await world._wait(lambda: all(echo_replies(world, sent)), "every message answered", within=90)
        await world.tg.wait_webhook_idle(30)
        await asyncio.sleep(1.0)  # a duplicate answer would arrive now
        db = Database(database_url)
        try:
            async with db.engine.connect() as conn:
                recorded = (
                    await conn.execute(text("SELECT count(*) FROM usage_events WHERE kind = 'chat'"))
                ).scalar()
        finally:
            await db.dispose()
        forwarded = Counter(world.proxy.forwarded) if world.proxy else Counter()
    assert echo_replies(world, sent) == [1] * len(sent), "each message answered once"
    assert sum(1 for d in world.tg.webhook_deliveries if d.redelivery) > 0, "Telegram did redeliver some"
    assert recorded == world.sim.ledger.requests.get("chat") == len(sent), "one usage event per gateway call"
    assert len(forwarded) == 3, "every replica served"


async def test_midjourney_grids_are_delivered_once_even_when_a_replica_dies(
    tmp_path: Path, database_url: str
) -> None:
    async with Replicas(tmp_path, database_url) as world:
        await world.start(3)
        users = [world.tg.user(id=7100 + n, first_name=f"M{n}", username=f"m{n}") for n in range(12)]
        chats = [world.tg.private_chat(user) for user in users]
        for n, (user, chat) in enumerate(zip(users, chats, strict=True)):
            world.tg.send_text(chat, user, f"/imagine a lighthouse number {n}")
        await world._wait(lambda: len(world.sim.tasks) >= 6, "half of the tasks submitted")
        world.kill(world.replicas[0])

        def grids() -> Counter[tuple[int, str]]:
            """(chat, task) of every grid sent: a grid's buttons carry its task id."""
            found: Counter[tuple[int, str]] = Counter()
            for call in world.tg.calls_of("sendPhoto"):
                result = call.result or {}
                for row in result.get("reply_markup", {}).get("inline_keyboard", []):
                    for button in row:
                        data = str(button.get("callback_data", ""))
                        if data.startswith("mj:") and data.endswith(":0"):
                            found[(result["chat"]["id"], data.split(":")[1])] += 1
            return found

        def told_interrupted(chat: JSON) -> bool:
            return _bot_said(world, chat, "interrupted by a restart")

        def settled() -> bool:
            """Every user has an outcome: the grid, or (the kill cut the request off between
            its job record and the gateway's answer) the honest "interrupted" note."""
            gridded = {chat_id for chat_id, _ in grids()}
            return all(chat["id"] in gridded or told_interrupted(chat) for chat in chats)

        await world._wait(settled, "every user's grid or note", within=120)
        await asyncio.sleep(2.0)  # a second copy of a grid would arrive now
        db = Database(database_url)
        try:
            async with db.engine.connect() as conn:
                rows = await conn.execute(text("SELECT id FROM jobs WHERE state = 'interrupted'"))
                interrupted = {row[0] for row in rows}
        finally:
            await db.dispose()
        delivered = grids()
        # A task the gateway accepted, but whose job the kill cut off before the task id was
        # stored, is one of the interrupted ones (our job id travels in the submit's state).
        accepted = {task_id for task_id, task in world.sim.tasks.items() if task.state not in interrupted}
    assert {task for _, task in delivered} == accepted, "every stored task delivered"
    assert set(delivered.values()) == {1}, f"each grid exactly once: {delivered}"
    assert len(delivered) + len(interrupted) == len(users), "one outcome per request"
    assert not any(told_interrupted(chat) for chat in chats if chat["id"] in {c for c, _ in delivered})
    assert len(interrupted) <= 4, "only what the killed replica held (a third of the updates)"
    assert len(delivered) >= 8


@pytest.mark.parametrize("shared_in", ["postgres", "redis"])
async def test_one_rate_limit_for_every_replica(
    tmp_path: Path, database_url: str, shared_in: str, request: pytest.FixtureRequest
) -> None:
    extra = {"RATE_LIMIT_PER_MINUTE": "3"}
    if shared_in == "redis":
        extra["REDIS_URL"] = request.getfixturevalue("redis_url")
        extra["REDIS_PREFIX"] = request.getfixturevalue("redis_prefix")
    async with Replicas(tmp_path, database_url, extra_env=extra) as world:
        await world.start(3)
        user = world.tg.user(id=7200, first_name="Fast", username="fast")
        chat = world.tg.private_chat(user)
        for n in range(8):
            world.tg.send_text(chat, user, f"message {n}")
            await asyncio.sleep(0.1)
        await world._wait(
            lambda: len([m for m in world.tg.messages_in(chat["id"]) if "Echo" in str(m.get("text"))]) >= 3,
            "three answers",
        )
        await world.tg.wait_webhook_idle(30)
        await asyncio.sleep(1.5)
        texts = [
            str(m.get("text")) for m in world.tg.messages_in(chat["id"]) if m["from"]["id"] == world.tg.bot_id
        ]
    assert len([t for t in texts if "Echo" in t]) == 3, texts
    assert len([t for t in texts if "Slow down" in t]) == 1, "told once, then silence"


def _bot_said(world: Replicas, chat: JSON, words: str) -> bool:
    """The bot's own messages only: the user's message holds the same words."""
    return any(
        words in str(m.get("text"))
        for m in world.tg.messages_in(chat["id"])
        if m.get("from", {}).get("id") == world.tg.bot_id
    )


async def test_one_poller_at_a_time_and_a_standby_takes_over(tmp_path: Path, database_url: str) -> None:
    async with Replicas(tmp_path, database_url, mode="polling") as world:
        await world.start(2)
        user = world.tg.user(id=7300, first_name="Pat", username="pat")
        chat = world.tg.private_chat(user)
        world.tg.send_text(chat, user, "before the failover")
        await world._wait(lambda: _bot_said(world, chat, "before the failover"), "an answer")
        db = Database(database_url)
        try:
            async with db.engine.connect() as conn:
                leader = (
                    await conn.execute(
                        text(
                            "SELECT pid FROM instances JOIN leases ON leases.owner = instances.id "
                            "WHERE leases.name = 'telegram-poller'"
                        )
                    )
                ).scalar()
        finally:
            await db.dispose()
        (polling,) = [r for r in world.replicas if r.process.pid == leader]
        world.kill(polling)
        killed_at = time.monotonic()
        world.tg.send_text(chat, user, "after the failover")
        await world._wait(
            lambda: _bot_said(world, chat, "after the failover"), "the standby to answer", within=30
        )
        took = time.monotonic() - killed_at
    assert world.tg.conflicts == 0, "never two pollers at once"
    assert took < 30


async def test_metrics_show_what_the_replica_did(tmp_path: Path, database_url: str) -> None:
    async with Replicas(tmp_path, database_url) as world:
        await world.start(1)
        user = world.tg.user(id=7400, first_name="Mo", username="mo")
        chat = world.tg.private_chat(user)
        world.tg.send_text(chat, user, "/image a fox")
        await world.tg.wait_for("sendPhoto", timeout=30)
        replica = world.replicas[0]
        for _ in range(50):  # the handler is timed when it returns, just after the photo
            status, body = await world.get(replica, "/metrics")
            if 'command="GenerateImage"' in body:
                break
            await asyncio.sleep(0.1)
        ready, readiness = await world.get(replica, "/readyz")
    assert status == 200 and ready == 200, readiness
    for family in (
        'wenwen_updates_received_total{platform="tg"}',
        "wenwen_updates_duplicate_total",
        'wenwen_handler_seconds_count{command="GenerateImage"}',
        'wenwen_gateway_requests_total{endpoint="/v1/images/generations",status="200"}',
        "wenwen_gateway_seconds_bucket",
        "wenwen_platform_api_errors_total",
        'wenwen_mj_tasks{state="pending"}',
        "wenwen_mj_delivered_total",
        "wenwen_budget_refusals_total",
        "wenwen_rate_limited_total",
        "wenwen_db_pool_in_use",
        'wenwen_replica_role{role="webhook"} 1.0',
    ):
        assert family in body, family
    assert re.search(r'wenwen_updates_received_total\{platform="tg"\} [1-9]', body)


async def test_stop_pressed_at_another_replica_stops_the_answer(tmp_path: Path, database_url: str) -> None:
    extra = {"STREAM_EDIT_INTERVAL": "0.05", "STREAM_GROUP_FIRST_DELAY": "0.05"}
    async with Replicas(tmp_path, database_url, extra_env=extra) as world:
        await world.start(2)
        world.sim.add_fault(Fault(route="/v1/chat/completions", kind="slow_stream", delay=0.2))
        ann = world.tg.user(id=7100, first_name="Ann", username="ann")
        team = world.tg.group_chat(id=-100700, title="Team")
        world.tg.set_admins(team, owner=ann)
        world.tg.send_text(team, ann, "@wenwen_test_bot [[long:900]] tell me a story")
        growing = await world.tg.wait_for("sendMessage", lambda c: c.ok and "⏹" in str(c.params), timeout=60)
        [[stop]] = growing.result["reply_markup"]["inline_keyboard"]
        # The press goes to the next replica behind the round-robin balancer, not the streaming one.
        world.tg.press_button(team, ann, growing.result["message_id"], stop["callback_data"])
        final = await world.tg.wait_for(
            "editMessageText", lambda c: c.ok and "🔄" in str(c.params.get("reply_markup")), timeout=30
        )
        logs = "".join(replica.log.read_text() for replica in world.replicas)
    assert final.params["text"].endswith("[stopped]") and len(final.params["text"]) < 900
    assert "pressed at another replica" in logs, "the press reached the replica that does not stream it"

"""The ledger never loses or double-counts: /usage equals what the gateway billed."""

from __future__ import annotations

from decimal import Decimal

from simulator import Fault, Simulator
from tests.e2e.images import make_image
from tests.e2e.telegram.conftest import BOT_NAME, RunBot
from tests.e2e.telegram.reports import reply, usage
from tests.e2e.usage_text import ReportTotals, report_totals
from tests.fakes.telegram_api import JSON, FakeTelegram


def add(a: ReportTotals, b: ReportTotals) -> ReportTotals:
    return ReportTotals(*(x + y for x, y in zip(vars(a).values(), vars(b).values(), strict=True)))


async def test_an_answer_that_cannot_be_delivered_is_still_counted(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, group: JSON, sim: Simulator
) -> None:
    async with run_bot():
        tg.fail_next("sendPhoto", 500)  # the gateway answered; the reply never arrives
        failed = await reply(tg, group, ann, "/image a lost fox", "⚠️")
        report = await usage(tg, group, ann)
    assert failed.startswith("⚠️ Something went wrong")
    assert not [c for c in tg.calls_of("sendPhoto") if c.ok]
    assert sim.ledger.images == 1
    assert report_totals(report).images == 1 and report_totals(report).requests == 1


async def test_mixed_workload_across_chats_and_users_equals_the_gateways_totals(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, bob: JSON, sim: Simulator
) -> None:
    cid = tg.user(id=1003, first_name="Cid", username="cid")
    team = tg.group_chat(id=-100400, title="Team")
    club = tg.group_chat(id=-100500, title="Club")
    dm = tg.private_chat(cid)
    async with run_bot(admin_user_ids="tg:1003"):
        await reply(tg, team, ann, "/ask what is a ledger", "Echo: what is a ledger")
        await reply(tg, team, bob, f"@{BOT_NAME} and a journal?", "Echo: and a journal")
        tg.send_text(team, bob, "/image a quill")
        await tg.wait_for("sendPhoto", count=1)
        tg.send_photo(club, ann, make_image(), caption=f"@{BOT_NAME} make it blue")
        await tg.wait_for("sendPhoto", count=2)
        sim.add_fault(Fault(route="/v1/chat/completions", kind="status", status=500))
        await reply(tg, club, cid, "/ask this one fails", "⚠️")  # failed calls record nothing
        await reply(tg, club, cid, "/ask this one works", "Echo: this one works")
        tg.send_text(club, ann, "/imagine a lighthouse")
        await tg.wait_for("sendPhoto", count=3, timeout=15)
        await reply(tg, dm, cid, "a private thought", "Echo: a private thought")
        per_chat = [report_totals(await usage(tg, chat, cid)) for chat in (team, club, dm)]
        everything = report_totals(await reply(tg, dm, cid, "/admin usage all", "🌐"))
    total = per_chat[0]
    for more in per_chat[1:]:
        total = add(total, more)
    billed = sim.ledger
    assert total.requests == sum(billed.requests.values()) == everything.requests
    assert (total.input_tokens, total.output_tokens) == (billed.input_tokens, billed.output_tokens)
    assert (total.images, total.mj_tasks) == (billed.images, billed.mj_tasks) == (2, 1)
    # Each report rounds to 4 decimals; the sum of three roundings may differ by a little.
    assert everything.cost > 0 and abs(total.cost - everything.cost) <= Decimal("0.0002")
    assert any(r.status == 500 for r in sim.requests), "the failure really happened"

"""/usage: what this chat has spent — by period, for the caller, as a chart, as CSV.

/usage [today|week|month|all]   totals, cost, by kind, by model, in groups by user
/usage me [period]              the caller's own spending in this chat
/usage chart                    PNG of daily cost and requests, last 30 days
/usage export                   CSV of this chat's events (in groups: its admins)
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from bot import commands as c
from bot.admission.permissions import Permissions, Role
from bot.errors import Refused
from bot.i18n import t, tn
from bot.model import OutImage
from bot.usage.pricing import PriceTable
from bot.usage.reports import period_range, period_title, usage_report
from bot.usecases.context import Request
from storage import Database

log = logging.getLogger(__name__)

CHART_DAYS = 30


async def handle_usage(
    cmd: c.ShowUsage, req: Request, db: Database, prices: PriceTable, permissions: Permissions
) -> None:
    match cmd.view:
        case c.UsageView.CHART:
            await _chart(req, db, prices)
        case c.UsageView.EXPORT:
            await _export(req, db, permissions)
        case c.UsageView.MINE | c.UsageView.TOTALS:
            await _report(req, db, prices, cmd.period, mine=cmd.view is c.UsageView.MINE)


async def _report(
    req: Request, db: Database, prices: PriceTable, period: c.UsagePeriod, *, mine: bool
) -> None:
    msg = req.msg
    now = datetime.now(UTC)
    since, until = period_range(period, now)
    user = msg.user.id if mine else None
    group = not msg.is_private
    async with db.unit_of_work() as uow:
        report = await uow.usage.report(
            msg.address.key, since, until, user_id=user, top_n=10 if group and not mine else 0
        )
    tr = req.tr
    title = period_title(period, now, tr)
    heading = (
        t("📊 Your usage in this chat — {period}", period=title)
        if mine and group
        else t("📊 Usage in this chat — {period}", period=title)
    )
    await req.out.send_rich(usage_report(tr(heading), report, prices, tr, with_users=group and not mine))


async def _chart(req: Request, db: Database, prices: PriceTable) -> None:
    from bot.usage.chart import usage_chart  # Pillow's drawing is loaded when a chart is first asked for

    async with db.unit_of_work() as uow:
        days = await uow.usage.daily(req.msg.address.key, CHART_DAYS)
    tr = req.tr
    # The chat's title stays out of the picture: neither font has emoji.
    title = tr(t("Usage in this chat · last {days} days", days=CHART_DAYS))
    png = await asyncio.to_thread(usage_chart, days, prices, title, tr)  # tens of ms of drawing
    where = req.msg.address.title
    caption = (
        t("📈 Daily cost and requests in {chat}, last {days} days (UTC)", chat=where, days=CHART_DAYS)
        if where
        else t("📈 Daily cost and requests, last {days} days (UTC)", days=CHART_DAYS)
    )
    await req.out.send_images([OutImage(png, "usage.png")], caption=tr(caption))


async def _export(req: Request, db: Database, permissions: Permissions) -> None:
    from bot.usage.export import usage_csv

    if await permissions.role(req.msg, req.out) < Role.CHAT_ADMIN:
        raise Refused(t("Only this chat's admins can export its usage."))
    key = req.msg.address.key
    async with db.unit_of_work() as uow:
        data, rows = await usage_csv(uow.usage.events(key))
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    name = f"usage-{key.replace(':', '_')}-{stamp}.csv"
    log.info("exported %d usage events of %s", rows, key)
    caption = tn("🧾 {n} usage event of this chat (UTC).", "🧾 {n} usage events of this chat (UTC).", n=rows)
    await req.out.send_file(data, name, "text/csv", caption=req.tr(caption))

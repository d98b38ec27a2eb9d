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
from bot.chart import usage_chart
from bot.export import usage_csv
from bot.handlers.errors import UserError
from bot.model import OutImage
from bot.reports import UsagePeriod, period_range, period_title, usage_report
from bot.rich import send_rich
from bot.services import Context

log = logging.getLogger(__name__)

CHART_DAYS = 30
HELP = "Usage: /usage [today|week|month|all] · /usage me [period] · /usage chart · /usage export"


def parse_period(word: str | None) -> UsagePeriod:
    if word is None:
        return UsagePeriod.MONTH
    try:
        return UsagePeriod(word)
    except ValueError:
        raise UserError(HELP) from None


async def handle_usage(cmd: c.ShowUsage, ctx: Context) -> None:
    words = cmd.args.lower().split()
    first = words[0] if words else None
    if first == "chart":
        await _chart(ctx)
    elif first == "export":
        await _export(ctx)
    elif first == "me":
        await _report(ctx, parse_period(words[1] if len(words) > 1 else None), mine=True)
    else:
        await _report(ctx, parse_period(first), mine=False)


async def _report(ctx: Context, period: UsagePeriod, *, mine: bool) -> None:
    s = ctx.services
    now = datetime.now(UTC)
    since, until = period_range(period, now)
    user = ctx.msg.user.id if mine else None
    group = not ctx.msg.is_private
    async with s.db.unit_of_work() as uow:
        report = await uow.usage.report(
            ctx.msg.address.key, since, until, user_id=user, top_n=10 if group and not mine else 0
        )
    who = "Your usage in this chat" if mine and group else "Usage in this chat"
    heading = f"📊 {who} — {period_title(period, now)}"
    await send_rich(ctx.out, usage_report(heading, report, s.prices, with_users=group and not mine))


async def _chart(ctx: Context) -> None:
    s = ctx.services
    async with s.db.unit_of_work() as uow:
        days = await uow.usage.daily(ctx.msg.address.key, CHART_DAYS)
    # The chat's title stays out of the picture: the bundled font has no emoji or CJK glyphs.
    title = f"Usage in this chat · last {CHART_DAYS} days"
    png = await asyncio.to_thread(usage_chart, days, s.prices, title)  # tens of ms of drawing
    where = f" in {ctx.msg.address.title}" if ctx.msg.address.title else ""
    caption = f"📈 Daily cost and requests{where}, last {CHART_DAYS} days (UTC)"
    await ctx.out.send_images([OutImage(png, "usage.png")], caption=caption)


async def _export(ctx: Context) -> None:
    s = ctx.services
    if not await s.access.can_manage(ctx.msg, ctx.out):
        raise UserError("Only this chat's admins can export its usage.")
    key = ctx.msg.address.key
    async with s.db.unit_of_work() as uow:
        data, rows = await usage_csv(uow.usage.events(key))
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    name = f"usage-{key.replace(':', '_')}-{stamp}.csv"
    log.info("exported %d usage events of %s", rows, key)
    await ctx.out.send_file(data, name, "text/csv", caption=f"🧾 {rows:,} usage events of this chat (UTC).")

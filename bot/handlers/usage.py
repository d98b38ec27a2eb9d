"""/usage: what this chat has spent — today, this month, all time."""

from __future__ import annotations

from datetime import UTC, datetime

from bot import commands as c
from bot.services import Context
from storage import UsageReport, UsageTotals

KIND_NAMES = {
    "chat": "chat",
    "image_generation": "images",
    "image_edit": "photo edits",
    "mj_imagine": "MJ imagine",
    "mj_blend": "MJ blend",
    "mj_action": "MJ buttons",
    "embedding": "embeddings",
    "classification": "caption checks",
}


def _totals_line(t: UsageTotals) -> str:
    parts = [f"{t.requests} requests", f"{t.input_tokens:,} in / {t.output_tokens:,} out tokens"]
    if t.images:
        parts.append(f"{t.images} images")
    if t.mj_tasks:
        parts.append(f"{t.mj_tasks} MJ tasks")
    return ", ".join(parts)


def format_report(title: str, report: UsageReport, *, with_users: bool) -> str:
    if report.totals.requests == 0:
        return f"{title}: nothing yet."
    lines = [f"{title}: {_totals_line(report.totals)}"]
    for kind, totals in sorted(report.by_kind.items(), key=lambda kv: -kv[1].requests):
        lines.append(f"  • {KIND_NAMES.get(kind, kind)}: {_totals_line(totals)}")
    if with_users and report.top_users:
        lines.append("  Top users:")
        lines += [f"    {u.user_name or u.user_id}: {_totals_line(u.totals)}" for u in report.top_users]
    return "\n".join(lines)


async def handle_usage(_: c.ShowUsage, ctx: Context) -> None:
    now = datetime.now(UTC)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    month = day.replace(day=1)
    key = ctx.msg.address.key
    group = not ctx.msg.is_private
    async with ctx.services.db.unit_of_work() as uow:
        today = await uow.usage.report(key, since=day)
        this_month = await uow.usage.report(key, since=month)
        ever = await uow.usage.report(key)
    sections = [
        "📊 Usage in this chat (UTC)",
        format_report("Today", today, with_users=False),
        format_report("This month", this_month, with_users=False),
        format_report("All time", ever, with_users=group),
    ]
    if ever.by_model:
        models = ", ".join(f"{m}: {t.requests}" for m, t in sorted(ever.by_model.items()))
        sections.append(f"Models (all time): {models}")
    await ctx.out.send_text("\n\n".join(sections))

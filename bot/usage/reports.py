"""Usage reports as rich documents: periods, totals, breakdowns. Pure; no I/O here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from bot.commands import UsagePeriod
from bot.rich import Line, Rich, Span, bold, code, italic
from bot.usage.pricing import PriceTable
from storage import ChatUsage, UsageReport, UsageTotals, UserUsage

# Rows per breakdown: keeps a report far below any platform's message limit.
MAX_ROWS = 10

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


def period_range(period: UsagePeriod, now: datetime) -> tuple[datetime | None, datetime | None]:
    """[since, until) in UTC: today, this ISO week (from Monday), this month, or everything."""
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period is UsagePeriod.TODAY:
        return day, None
    if period is UsagePeriod.WEEK:
        return day - timedelta(days=day.weekday()), None
    if period is UsagePeriod.MONTH:
        return day.replace(day=1), None
    return None, None


def period_title(period: UsagePeriod, now: datetime) -> str:
    since, _ = period_range(period, now)
    if since is None:
        return "all time"
    if period is UsagePeriod.TODAY:
        return f"today, {since:%-d %b} (UTC)"
    if period is UsagePeriod.WEEK:
        return f"this week, since {since:%a %-d %b} (UTC)"
    return f"{since:%B %Y} (UTC)"


def counted(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def brief(t: UsageTotals, prices: PriceTable) -> str:
    """One line of totals: cost and requests always, other counters when non-zero."""
    parts = [prices.money(t.cost), f"{t.requests:,} req"]
    if t.total_tokens:
        parts.append(f"{t.total_tokens:,} tok")
    if t.images:
        parts.append(f"{t.images:,} img")
    if t.mj_tasks:
        parts.append(f"{t.mj_tasks:,} MJ")
    return " · ".join(parts)


def usage_report(
    heading: str, report: UsageReport, prices: PriceTable, *, with_users: bool, rows: int = MAX_ROWS
) -> Rich:
    t = report.totals
    if t.requests == 0:
        return Rich.of(bold(heading), "Nothing used in this period.")
    lines: list[Line] = [
        (bold(heading),),
        (Span("Total: "), bold(prices.money(t.cost)), Span(f" · {counted(t.requests, 'request')}")),
    ]
    detail = []
    if t.total_tokens:
        detail.append(f"{t.total_tokens:,} tokens ({t.input_tokens:,} in / {t.output_tokens:,} out)")
    if t.images:
        detail.append(counted(t.images, "image"))
    if t.mj_tasks:
        detail.append(counted(t.mj_tasks, "Midjourney task"))
    if detail:
        lines.append((Span(" · ".join(detail)),))
    lines += _section("By kind", {KIND_NAMES.get(k, k): v for k, v in report.by_kind.items()}, prices, rows)
    lines += _section("By model", report.by_model, prices, rows, code_names=True)
    if with_users and report.top_users:
        lines += _users(report.top_users, prices, rows)
    if t.unpriced:
        unknown = sorted(model for model, totals in report.by_model.items() if totals.unpriced)
        lines += [
            (),
            (
                Span(f"⚠️ {t.unpriced:,} request{'s' if t.unpriced != 1 else ''} used models without a price "
                     f"(counted as {prices.money(Decimal(0))}): "),
                *_joined(code(m) for m in unknown),
            ),
        ]  # fmt: skip
    return Rich(tuple(lines))


def _section(
    title: str, groups: Mapping[str, UsageTotals], prices: PriceTable, rows: int, *, code_names: bool = False
) -> list[Line]:
    """Groups arrive heaviest first (storage orders them); show the first `rows`."""
    if not groups:
        return []
    lines: list[Line] = [(), (bold(title),)]
    for name, totals in list(groups.items())[:rows]:
        flag = " ⚠️ no price" if totals.unpriced else ""
        label = code(name) if code_names else Span(name)
        lines.append((Span("• "), label, Span(f": {brief(totals, prices)}{flag}")))
    if len(groups) > rows:
        lines.append((italic(f"… and {len(groups) - rows} more"),))
    return lines


def _users(users: Sequence[UserUsage], prices: PriceTable, rows: int) -> list[Line]:
    lines: list[Line] = [(), (bold("Top users"),)]
    for user in users[:rows]:
        lines.append((Span(f"• {user.user_name or user.user_id}: {brief(user.totals, prices)}"),))
    return lines


def _joined(spans: Iterable[Span]) -> list[Span]:
    out: list[Span] = []
    for n, span in enumerate(spans):
        if n:
            out.append(Span(", "))
        out.append(span)
    return out


def chats_report(heading: str, overall: UsageTotals, chats: Sequence[ChatUsage], prices: PriceTable) -> Rich:
    """Cross-chat totals for the bot's admins."""
    if overall.requests == 0:
        return Rich.of(bold(heading), "Nothing used in this period.")
    requests = counted(overall.requests, "request")
    lines: list[Line] = [
        (bold(heading),),
        (Span("Total: "), bold(prices.money(overall.cost)), Span(f" · {requests}")),
        (),
        (bold("Top chats"),),
    ]
    for chat in chats:
        title = chat.title or "(untitled)"
        lines.append((Span(f"• {title} "), code(chat.chat_key), Span(f": {brief(chat.totals, prices)}")))
    return Rich(tuple(lines))

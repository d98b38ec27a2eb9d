"""Usage reports as rich documents: periods, totals, breakdowns. Pure; no I/O here.

Every text goes through the reader's `Tr`: numbers, money and dates in their locale.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from bot.commands import UsagePeriod
from bot.i18n import Text, Tr, t, tn
from bot.rich import Line, Rich, Span, bold, code, italic
from bot.usage.pricing import PriceTable
from storage import ChatUsage, UsageReport, UsageTotals, UserUsage

# Rows per breakdown: keeps a report far below any platform's message limit.
MAX_ROWS = 10

KIND_NAMES: dict[str, Text] = {
    "chat": t("chat"),
    "image_generation": t("images"),
    "image_edit": t("photo edits"),
    "mj_imagine": t("MJ imagine"),
    "mj_blend": t("MJ blend"),
    "mj_action": t("MJ buttons"),
    "mj_describe": t("MJ describe"),
    "mj_modal": t("MJ new prompts"),
    "embedding": t("embeddings"),
    "classification": t("caption checks"),
}
NOTHING = t("Nothing used in this period.")


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


def period_title(period: UsagePeriod, now: datetime, tr: Tr) -> str:
    since, _ = period_range(period, now)
    if since is None:
        return tr(t("all time"))
    if period is UsagePeriod.TODAY:
        return tr(t("today, {date} (UTC)", date=tr.date(since.date(), "MMMd")))
    if period is UsagePeriod.WEEK:
        return tr(t("this week, since {date} (UTC)", date=tr.date(since.date(), "MMMEd")))
    return tr(t("{month} (UTC)", month=tr.date(since.date(), "yMMMM")))


def brief(totals: UsageTotals, prices: PriceTable, tr: Tr) -> str:
    """One line of totals: cost and requests always, other counters when non-zero."""
    parts = [tr.money(prices.amount(totals.cost)), tr(t("{n} req", n=totals.requests))]
    if totals.total_tokens:
        parts.append(tr(t("{n} tok", n=totals.total_tokens)))
    if totals.images:
        parts.append(tr(t("{n} img", n=totals.images)))
    if totals.mj_tasks:
        parts.append(tr(t("{n} MJ", n=totals.mj_tasks)))
    return " · ".join(parts)


def usage_report(
    heading: str, report: UsageReport, prices: PriceTable, tr: Tr, *, with_users: bool, rows: int = MAX_ROWS
) -> Rich:
    totals = report.totals
    if totals.requests == 0:
        return Rich.of(bold(heading), tr(NOTHING))
    lines: list[Line] = [(bold(heading),), _total_line(totals, prices, tr)]
    detail = []
    if totals.total_tokens:
        detail.append(
            tr(
                t(
                    "{total} tokens ({input} in / {output} out)",
                    total=totals.total_tokens,
                    input=totals.input_tokens,
                    output=totals.output_tokens,
                )
            )
        )
    if totals.images:
        detail.append(tr(tn("{n} image", "{n} images", n=totals.images)))
    if totals.mj_tasks:
        detail.append(tr(tn("{n} Midjourney task", "{n} Midjourney tasks", n=totals.mj_tasks)))
    if detail:
        lines.append((Span(" · ".join(detail)),))
    kinds = {tr(KIND_NAMES[k]) if k in KIND_NAMES else k: v for k, v in report.by_kind.items()}
    lines += _section(tr(t("By kind")), kinds, prices, tr, rows)
    lines += _section(tr(t("By model")), report.by_model, prices, tr, rows, code_names=True)
    if with_users and report.top_users:
        lines += _users(report.top_users, prices, tr, rows)
    if totals.unpriced:
        unknown = sorted(model for model, by_model in report.by_model.items() if by_model.unpriced)
        warning = tn(
            "⚠️ {n} request used models without a price (counted as {zero}): ",
            "⚠️ {n} requests used models without a price (counted as {zero}): ",
            n=totals.unpriced,
            zero=prices.amount(Decimal(0)),
        )
        lines += [(), (Span(tr(warning)), *_joined(code(m) for m in unknown))]
    return Rich(tuple(lines))


def _total_line(totals: UsageTotals, prices: PriceTable, tr: Tr) -> Line:
    requests = tr(tn("{n} request", "{n} requests", n=totals.requests))
    return (Span(tr(t("Total: "))), bold(tr.money(prices.amount(totals.cost))), Span(f" · {requests}"))


def _section(
    title: str,
    groups: Mapping[str, UsageTotals],
    prices: PriceTable,
    tr: Tr,
    rows: int,
    *,
    code_names: bool = False,
) -> list[Line]:
    """Groups arrive heaviest first (storage orders them); show the first `rows`."""
    if not groups:
        return []
    lines: list[Line] = [(), (bold(title),)]
    flag = tr(t(" ⚠️ no price"))
    for name, totals in list(groups.items())[:rows]:
        label = code(name) if code_names else Span(name)
        shown = flag if totals.unpriced else ""
        lines.append((Span("• "), label, Span(f": {brief(totals, prices, tr)}{shown}")))
    if len(groups) > rows:
        lines.append((italic(tr(t("… and {n} more", n=len(groups) - rows))),))
    return lines


def _users(users: Sequence[UserUsage], prices: PriceTable, tr: Tr, rows: int) -> list[Line]:
    lines: list[Line] = [(), (bold(tr(t("Top users"))),)]
    for user in users[:rows]:
        lines.append((Span(f"• {user.user_name or user.user_id}: {brief(user.totals, prices, tr)}"),))
    return lines


def _joined(spans: Iterable[Span]) -> list[Span]:
    out: list[Span] = []
    for n, span in enumerate(spans):
        if n:
            out.append(Span(", "))
        out.append(span)
    return out


def chats_report(
    heading: str, overall: UsageTotals, chats: Sequence[ChatUsage], prices: PriceTable, tr: Tr
) -> Rich:
    """Cross-chat totals for the bot's admins."""
    if overall.requests == 0:
        return Rich.of(bold(heading), tr(NOTHING))
    lines: list[Line] = [(bold(heading),), _total_line(overall, prices, tr), (), (bold(tr(t("Top chats"))),)]
    for chat in chats:
        title = chat.title or tr(t("(untitled)"))
        lines.append((Span(f"• {title} "), code(chat.chat_key), Span(f": {brief(chat.totals, prices, tr)}")))
    return Rich(tuple(lines))

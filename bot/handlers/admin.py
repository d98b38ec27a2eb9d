"""/admin: access, budgets and cross-chat usage for the people who run the bot.

    /admin allow [<chat>]      let a chat use the bot            (bot admins)
    /admin deny [<chat>]       turn the bot off in a chat        (bot admins)
    /admin budget [<chat>]     the limits in force and what is used
    /admin budget [<chat>] <chat|user> <day|month> <cost|tokens|images|mj> <amount|off|default>
                               bot admins: any limit anywhere; a chat's own admins (and each
                               person in a private chat): only *tighter* than the operator's
    /admin usage [<chat>] [today|week|month|all]
                               every chat's totals, or one chat's (bot admins, private chat)

<chat> is a chat key as /usage and refusals show it ("tg:-100123"); a bare id means
this platform; without one, the chat the command is sent in.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from bot import commands as c
from bot.admission.access import Access
from bot.admission.permissions import Permissions, Role
from bot.errors import Refused, UserError
from bot.i18n import Tr, t
from bot.rich import Line, Rich, Span, Style, bold, code, line_of
from bot.usage.budgets import Budgets, when
from bot.usage.limits import Metric, Scope
from bot.usage.pricing import PriceTable
from bot.usage.reports import chats_report, period_range, period_title, usage_report
from bot.usecases.context import Request
from storage import Database

BOT_ADMINS_ONLY = t("This command is for the bot's admins (ADMIN_USER_IDS).")


def _help(tr: Tr) -> Rich:
    chat = code("[chat]")
    return Rich(
        (
            (bold(tr(t("Admin commands"))),),
            (Span("/admin allow "), chat, Span(" · /admin deny "), chat),
            line_of(
                tr(t("/admin budget {chat} — limits in force and what is used", chat="{chat}")), chat=chat
            ),
            (
                Span("/admin budget "),
                code("[chat] <chat|user> <day|month> <cost|tokens|images|mj> <amount|off|default>"),
            ),
            line_of(
                tr(t("/admin usage {args} — in a private chat with me", args="{args}")),
                args=code("[chat] [today|week|month|all]"),
            ),
            line_of(
                tr(t("Example: {example}", example="{example}")),
                example=code("/admin budget user day images 10"),
            ),
        )
    )


def _who(req: Request) -> str:
    return f"{req.msg.address.platform}:{req.msg.user.id}"


async def handle_admin_help(req: Request) -> None:
    await req.out.send_rich(_help(req.tr))


async def handle_access(cmd: c.AdminAccess, req: Request, access: Access, permissions: Permissions) -> None:
    if not permissions.is_bot_admin(req.msg):
        raise Refused(BOT_ADMINS_ONLY)
    target = cmd.chat or req.msg.address.key
    await access.set_rule(target, cmd.allowed, _who(req))
    text = (
        t("✅ Chat {chat} may now use the bot.", chat="{chat}")
        if cmd.allowed
        else t("✅ Chat {chat} is now refused (told once).", chat="{chat}")
    )
    await req.out.send_rich(Rich((line_of(req.tr(text), chat=code(target)),)))


async def handle_budget(
    cmd: c.AdminBudget, req: Request, budgets: Budgets, permissions: Permissions, prices: PriceTable
) -> None:
    target = cmd.chat or req.msg.address.key
    role = await permissions.role(req.msg, req.out)
    if target != req.msg.address.key and role < Role.BOT_ADMIN:
        raise Refused(BOT_ADMINS_ONLY)
    if role < Role.CHAT_ADMIN:
        raise Refused(t("Only this chat's admins can see or change its budgets."))
    if cmd.change is not None:
        await _change(cmd.change, target, req, role, budgets=budgets, prices=prices)
    await _show(req, budgets, target)


async def _change(
    change: c.BudgetChange,
    target: str,
    req: Request,
    role: Role,
    *,
    budgets: Budgets,
    prices: PriceTable,
) -> None:
    key = change.key
    if key.metric is Metric.COST and change.amount is not None and change.amount % prices.minor_unit:
        raise UserError(
            t(
                "{amount} is finer than the currency allows ({smallest}): write a multiple of {step}.",
                amount=str(change.amount),
                smallest=prices.amount(prices.minor_unit),
                step=str(prices.minor_unit),
            )
        )
    if role < Role.BOT_ADMIN:
        # A chat's own admins may only tighten what the operator (or a bot admin) allows.
        ceiling = await budgets.ceiling(target, key)
        result = ceiling.default if change.reset else change.amount
        if not _within(result, ceiling.value):
            shown = t("no limit") if ceiling.value is None else budgets.amount(key.metric, ceiling.value)
            raise Refused(
                t(
                    "⛔ Only the bot's admins can raise or lift this limit: {key} = {ceiling}. "
                    "This chat's admins may set it lower.",
                    key=str(key),
                    ceiling=shown,
                )
            )
    if change.reset:
        await budgets.clear_limit(target, key, by_bot_admin=role is Role.BOT_ADMIN)
    else:
        await budgets.set_limit(target, key, change.amount, _who(req), as_ceiling=role is Role.BOT_ADMIN)


def _within(value: Decimal | None, ceiling: Decimal | None) -> bool:
    """None is "no limit": above every number."""
    if ceiling is None:
        return True
    return value is not None and value <= ceiling


async def _show(req: Request, budgets: Budgets, target: str) -> None:
    states = await budgets.status(target, req.msg.user.id)
    tr = req.tr
    lines: list[Line] = [
        tuple(
            Span(s.text, Style.BOLD) if s.style is Style.PLAIN else s
            for s in line_of(tr(t("💰 Budgets in {chat}", chat="{chat}")), chat=code(target))
        )
    ]
    if not states:
        lines.append(
            line_of(
                tr(t("No limits. Set one: {example}", example="{example}")),
                example=code("/admin budget chat day cost 5"),
            )
        )
    now = datetime.now(UTC)
    for state in states:
        key = state.key
        used = budgets.amount(key.metric, state.used, unit=False)
        limit = budgets.amount(key.metric, state.limit)
        resets = when(state.resets, now)
        origin = t("set here") if state.from_chat else t("default")
        text = (
            t(
                "• {key}: {used} of {limit} used (yours; each user has this); resets {when} · {origin}",
                key="{key}",
                used=used,
                limit=limit,
                when=resets,
                origin=origin,
            )
            if key.scope is Scope.USER
            else t(
                "• {key}: {used} of {limit} used; resets {when} · {origin}",
                key="{key}",
                used=used,
                limit=limit,
                when=resets,
                origin=origin,
            )
        )
        lines.append(line_of(tr(text), key=code(str(key))))
    await req.out.send_rich(Rich(tuple(lines)))


async def handle_admin_usage(
    cmd: c.AdminUsage, req: Request, db: Database, prices: PriceTable, permissions: Permissions
) -> None:
    if not permissions.is_bot_admin(req.msg):
        raise Refused(BOT_ADMINS_ONLY)
    if not req.msg.is_private:
        raise UserError(t("/admin usage shows every chat: ask me in a private chat."))
    now = datetime.now(UTC)
    since, until = period_range(cmd.period, now)
    async with db.unit_of_work() as uow:
        if cmd.chat is None:
            overall, chats = await uow.usage.by_chat(since, until, top_n=15)
        else:
            report = await uow.usage.report(cmd.chat, since, until, top_n=10)
    tr = req.tr
    period = period_title(cmd.period, now, tr)
    if cmd.chat is None:
        doc = chats_report(tr(t("🌐 All chats — {period}", period=period)), overall, chats, prices, tr)
    else:
        doc = usage_report(f"📊 {cmd.chat} — {period}", report, prices, tr, with_users=True)
    await req.out.send_rich(doc)

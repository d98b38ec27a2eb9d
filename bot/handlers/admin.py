"""/admin: access, budgets and cross-chat usage for the people who run the bot.

    /admin allow [<chat>]      let a chat use the bot            (bot admins)
    /admin deny [<chat>]       turn the bot off in a chat        (bot admins)
    /admin budget [<chat>]     the limits in force and what is used
    /admin budget [<chat>] <chat|user> <day|month> <cost|tokens|images|mj> <amount|off|default>
                               (bot admins; a group's own admins for their group)
    /admin usage [<chat>] [today|week|month|all]
                               every chat's totals, or one chat's (bot admins, private chat)

<chat> is a chat key as /usage and refusals show it ("tg:-100123"); a bare id means
this platform; without one, the chat the command is sent in.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from bot import commands as c
from bot.budgets import when
from bot.handlers.errors import UserError
from bot.handlers.usage import parse_period
from bot.limits import OFF, LimitSyntaxError, Scope, parse_limit
from bot.reports import chats_report, period_range, period_title, usage_report
from bot.rich import Line, Rich, Span, bold, code, send_rich
from bot.services import Context

BOT_ADMINS_ONLY = "This command is for the bot's admins (ADMIN_USER_IDS)."

HELP = Rich.of(
    bold("Admin commands"),
    ("/admin allow ", code("[chat]"), " · /admin deny ", code("[chat]")),
    ("/admin budget ", code("[chat]"), " — limits in force and what is used"),
    (
        "/admin budget ",
        code("[chat] <chat|user> <day|month> <cost|tokens|images|mj> <amount|off|default>"),
    ),
    ("/admin usage ", code("[chat] [today|week|month|all]"), " — in a private chat with me"),
    ("Example: ", code("/admin budget user day images 10")),
)


def _chat_ref(word: str, ctx: Context) -> str | None:
    """A chat key from what the admin typed; None if the word is not a chat reference."""
    if ":" in word:
        return word
    if word.lstrip("-").isdigit():
        return f"{ctx.msg.address.platform}:{word}"
    return None


async def handle_admin(cmd: c.Admin, ctx: Context) -> None:
    words = cmd.args.split()
    sub = words[0].lower() if words else "help"
    if sub in ("allow", "deny"):
        await _access(ctx, words[1:], allowed=sub == "allow")
    elif sub == "budget":
        await _budget(ctx, words[1:])
    elif sub == "usage":
        await _usage(ctx, words[1:])
    else:
        await send_rich(ctx.out, HELP)


def _require_bot_admin(ctx: Context) -> None:
    if not ctx.services.access.is_bot_admin(ctx.msg):
        raise UserError(BOT_ADMINS_ONLY)


async def _access(ctx: Context, args: list[str], *, allowed: bool) -> None:
    _require_bot_admin(ctx)
    target = _chat_ref(args[0], ctx) if args else ctx.msg.address.key
    if target is None:
        raise UserError(f"{args[0]!r} is not a chat. Write its key, e.g. tg:-100123.")
    by = f"{ctx.msg.address.platform}:{ctx.msg.user.id}"
    await ctx.services.access.set_rule(target, allowed, by)
    verb = "may now use the bot" if allowed else "is now refused (told once)"
    await send_rich(ctx.out, Rich.of(("✅ Chat ", code(target), f" {verb}.")))


async def _budget(ctx: Context, args: list[str]) -> None:
    s = ctx.services
    target = ctx.msg.address.key
    if args and (ref := _chat_ref(args[0], ctx)) is not None:
        target, args = ref, args[1:]
    if target != ctx.msg.address.key:
        _require_bot_admin(ctx)
    elif not await s.access.can_manage(ctx.msg, ctx.out):
        raise UserError("Only this chat's admins can see or change its budgets.")
    if args:
        await _set_budget(ctx, target, args)
    await _show_budgets(ctx, target)


async def _set_budget(ctx: Context, target: str, args: list[str]) -> None:
    budgets = ctx.services.budgets
    text = " ".join(args)
    # "default" (also "chat.day.mj=default") drops the chat's own limit.
    reset = re.search(r"(?:^|[\s=])default$", text, re.IGNORECASE) is not None
    if reset:
        text = text[: -len("default")] + OFF
    try:
        key, value = parse_limit(text)
    except LimitSyntaxError as exc:
        raise UserError(f"{exc}. Example: /admin budget user day images 10") from None
    if reset:
        await budgets.clear_limit(target, key)
    else:
        await budgets.set_limit(target, key, value, f"{ctx.msg.address.platform}:{ctx.msg.user.id}")


async def _show_budgets(ctx: Context, target: str) -> None:
    budgets = ctx.services.budgets
    states = await budgets.status(target, ctx.msg.user.id)
    lines: list[Line] = [(bold("💰 Budgets in "), code(target))]
    if not states:
        lines.append((Span("No limits. Set one: "), code("/admin budget chat day cost 5")))
    now = datetime.now(UTC)
    for state in states:
        key = state.key
        used = budgets.amount(key.metric, state.used, unit=False)
        limit = budgets.amount(key.metric, state.limit)
        whose = " (yours; each user has this)" if key.scope is Scope.USER else ""
        origin = "set here" if state.from_chat else "default"
        lines.append(
            (
                Span("• "),
                code(str(key)),
                Span(f": {used} of {limit} used{whose}; resets {when(state.resets, now)} · {origin}"),
            )
        )
    await send_rich(ctx.out, Rich(tuple(lines)))


async def _usage(ctx: Context, args: list[str]) -> None:
    _require_bot_admin(ctx)
    if not ctx.msg.is_private:
        raise UserError("/admin usage shows every chat: ask me in a private chat.")
    s = ctx.services
    target = _chat_ref(args[0], ctx) if args else None
    if target is not None:
        args = args[1:]
    period = parse_period(args[0].lower() if args else None)
    now = datetime.now(UTC)
    since, until = period_range(period, now)
    async with s.db.unit_of_work() as uow:
        if target is None:
            overall, chats = await uow.usage.by_chat(since, until, top_n=15)
        else:
            report = await uow.usage.report(target, since, until, top_n=10)
    if target is None:
        doc = chats_report(f"🌐 All chats — {period_title(period, now)}", overall, chats, s.prices)
    else:
        doc = usage_report(f"📊 {target} — {period_title(period, now)}", report, s.prices, with_users=True)
    await send_rich(ctx.out, doc)

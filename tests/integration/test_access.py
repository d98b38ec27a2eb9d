"""Who may use the bot (settings, admins' decisions, one refusal per chat) and who may manage it."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from bot.admission.access import Access
from bot.admission.permissions import Permissions, Role
from bot.config import GroupSettings, Settings
from bot.errors import Refused, Silent
from bot.model import ChatAddress, ChatKind, Incoming, User
from storage import Database

GROUP = ChatAddress("tg", "-100", ChatKind.GROUP)
OTHER = ChatAddress("tg", "-200", ChatKind.GROUP)


def access(db: Database, **settings: Any) -> Access:
    values = {"wenwen_api_key": SecretStr("k"), **settings}
    chosen = Settings(_env_file=None, **values)  # type: ignore[call-arg]
    return Access(
        db,
        permissions(**settings),
        allowed_chats=frozenset(chosen.allowed_chat_ids),
        allowed_users=frozenset(chosen.allowed_user_ids),
    )


def permissions(**settings: Any) -> Permissions:
    values = {"wenwen_api_key": SecretStr("k"), **settings}
    chosen = Settings(_env_file=None, **values)  # type: ignore[call-arg]
    return Permissions(frozenset(chosen.admin_user_ids), chosen.group_settings)


def msg(address: ChatAddress = GROUP, user: str = "1", *, is_admin: bool = False) -> Incoming:
    return Incoming(address, User(user, f"user{user}", is_admin=is_admin), text="hi")


async def refusal(check: Access, message: Incoming) -> str | None:
    """The one-time notice; None when the chat was told before (and the refusal is silent)."""
    try:
        await check.check(message)
    except Silent:
        return None
    except Refused as refused:
        return refused.user_message
    raise AssertionError("not refused")


async def test_empty_lists_mean_open_to_everyone(db: Database) -> None:
    await access(db).check(msg())


async def test_listed_chats_only_and_one_refusal_per_chat(db: Database) -> None:
    check = access(db, allowed_chat_ids="tg:-100")
    await check.check(msg(GROUP))
    notice = await refusal(check, msg(OTHER))
    assert notice is not None and "/admin allow tg:-200" in notice
    assert await refusal(check, msg(OTHER, "2")) is None, "the chat was told already"
    restarted = access(db, allowed_chat_ids="tg:-100")
    assert await refusal(restarted, msg(OTHER)) is None, "remembered across restarts"


async def test_bare_ids_match_any_platform(db: Database) -> None:
    check = access(db, allowed_chat_ids="-100", allowed_user_ids="7")
    await check.check(msg(GROUP))
    await check.check(msg(ChatAddress("dc", "-100", ChatKind.GROUP), "8"))
    await check.check(msg(ChatAddress("dc", "555"), "7"))
    assert await refusal(check, msg(ChatAddress("dc", "555"), "8")) is not None, "the lists still apply"


async def test_a_listed_user_may_use_the_bot_in_any_chat(db: Database) -> None:
    check = access(db, allowed_user_ids="tg:7")
    await check.check(msg(OTHER, "7"))
    await check.check(msg(ChatAddress("tg", "7"), "7"))
    assert await refusal(check, msg(OTHER, "8")) is not None


async def test_admins_decide_per_chat_and_the_chat_is_told_again(db: Database) -> None:
    check = access(db, allowed_chat_ids="tg:-100")
    assert await refusal(check, msg(OTHER)) is not None
    await check.set_rule(OTHER.key, True, "tg:9")
    await check.check(msg(OTHER))
    await check.set_rule(GROUP.key, False, "tg:9")
    notice = await refusal(check, msg(GROUP))
    assert notice == "🔒 The bot's admins have turned it off in this chat."
    assert await refusal(check, msg(GROUP)) is None


async def test_a_denied_chat_is_refused_even_when_open(db: Database) -> None:
    check = access(db)
    await check.set_rule(GROUP.key, False, "tg:9")
    assert await refusal(check, msg(GROUP)) is not None


async def test_bot_admins_are_never_refused(db: Database) -> None:
    check = access(db, allowed_chat_ids="tg:-100", admin_user_ids="tg:9")
    await check.set_rule(OTHER.key, False, "tg:9")
    await check.check(msg(OTHER, "9"))
    rights = permissions(admin_user_ids="tg:9")
    assert rights.is_bot_admin(msg(OTHER, "9"))
    assert not rights.is_bot_admin(msg(ChatAddress("dc", "1"), "9")), "tg:9 is not dc:9"


class AdminsOutbox:
    """Answers is_chat_admin like a platform would (only the method Access uses)."""

    def __init__(self, admins: set[str]) -> None:
        self.admins = admins
        self.asked: list[str] = []

    async def is_chat_admin(self, user_id: str) -> bool:
        self.asked.append(user_id)
        return user_id in self.admins


async def test_roles() -> None:
    rights = permissions(admin_user_ids="9")
    out: Any = AdminsOutbox({"5"})
    assert await rights.role(msg(GROUP, "5"), out) is Role.CHAT_ADMIN
    assert await rights.role(msg(GROUP, "6"), out) is Role.MEMBER
    assert out.asked == ["5", "6"]
    assert await rights.role(msg(GROUP, "9"), out) is Role.BOT_ADMIN
    assert await rights.role(msg(GROUP, "6", is_admin=True), out) is Role.CHAT_ADMIN, "the platform said so"
    assert await rights.role(msg(ChatAddress("tg", "6"), "6"), out) is Role.CHAT_ADMIN, "own private chat"
    assert out.asked == ["5", "6"], "asked only when needed"
    assert await rights.role(msg(GROUP, "5"), object()) is Role.MEMBER, "no way to ask: member"  # type: ignore[arg-type]


async def test_group_settings_are_the_admins_unless_the_operator_opens_them() -> None:
    out: Any = AdminsOutbox({"5"})
    admins_only = permissions()
    assert await admins_only.may_change_settings(msg(GROUP, "5"), out)
    assert not await admins_only.may_change_settings(msg(GROUP, "6"), out)
    assert await admins_only.may_change_settings(msg(ChatAddress("tg", "6"), "6"), out), "own private chat"
    everyone = permissions(group_settings=GroupSettings.EVERYONE.value)
    assert await everyone.may_change_settings(msg(GROUP, "6"), out)


async def test_the_terminal_is_the_operators_own(db: Database) -> None:
    check = access(db, allowed_chat_ids="tg:-100")
    console = msg(ChatAddress("console", "local"), "local")
    await check.check(console)
    assert permissions().is_bot_admin(console)

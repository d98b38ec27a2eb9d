"""The router: every rule from incoming message to command, with no I/O."""

from __future__ import annotations

from typing import Any

import pytest

from bot import commands as c
from bot import router
from bot.model import ChatAddress, ChatKind, ImageAttachment, Incoming, User
from bot.router import COMMANDS, Limits, button_payload, route, seed_payload, split_command

LIMITS = Limits(max_prompt_chars=8000, max_images=10)
BIG_ID = "1234567890123456789"  # 19 digits: larger than 2**53


async def _no_bytes() -> bytes:
    raise AssertionError("the router must not fetch images")


def photos(n: int) -> tuple[ImageAttachment, ...]:
    return tuple(ImageAttachment(fetch=_no_bytes, file_name=f"p{i}.jpg") for i in range(n))


def private(text: str = "", **kw: Any) -> Incoming:
    return Incoming(ChatAddress("tg", "42"), User("42", "Ann"), text=text, **kw)


def group(text: str = "", **kw: Any) -> Incoming:
    return Incoming(ChatAddress("tg", "-100", ChatKind.GROUP), User("42", "Ann"), text=text, **kw)


def discord(command: c.Command, images: tuple[ImageAttachment, ...] = ()) -> Incoming:
    """A slash command as the Discord adapter hands it over: already a typed command."""
    return Incoming(ChatAddress("dc", "9", ChatKind.GROUP), User("7", "Bo"), command=command, images=images)


def hint(command: c.Command) -> str:
    assert isinstance(command, c.Hint), command
    return str(command.text)


# --- plain text --------------------------------------------------------------------------


def test_private_text_is_chat() -> None:
    assert route(private("  what is a quasar?  "), LIMITS) == c.Chat("what is a quasar?")


def test_group_text_without_mention_is_ignored() -> None:
    assert route(group("hello everyone"), LIMITS) == c.Ignore()


def test_group_text_with_mention_or_reply_is_chat() -> None:
    assert route(group("what time is it?", mentioned=True), LIMITS) == c.Chat("what time is it?")
    assert route(group("and in Oslo?", reply_to_bot=True), LIMITS) == c.Chat("and in Oslo?")


def test_empty_mention_is_a_hint() -> None:
    assert "Yes?" in hint(route(group("  ", mentioned=True), LIMITS))


def test_path_like_text_is_not_a_command() -> None:
    assert route(private("/usr/bin/python is broken"), LIMITS) == c.Chat("/usr/bin/python is broken")


# --- commands ------------------------------------------------------------------------------


def test_ask_with_and_without_args() -> None:
    assert route(private("/ask why is the sky blue?"), LIMITS) == c.Chat(
        "why is the sky blue?", explicit=True
    )
    assert "Usage: /ask" in hint(route(private("/ask"), LIMITS))
    assert "Usage: /ask" in hint(route(private("/ask   "), LIMITS))


def test_ask_with_photos_keeps_them() -> None:
    images = photos(2)
    assert route(private("/ask what is this?", images=images), LIMITS) == c.Chat(
        "what is this?", images, explicit=True
    )


def test_group_commands_work_without_mention() -> None:
    assert route(group("/ask hi"), LIMITS) == c.Chat("hi", explicit=True)


def test_imagine_with_and_without_prompt() -> None:
    assert route(private("/imagine a lighthouse --ar 16:9"), LIMITS) == c.Imagine("a lighthouse --ar 16:9")
    images = photos(1)
    assert route(private("/imagine like this", images=images), LIMITS) == c.Imagine("like this", images)
    assert "Usage: /imagine" in hint(route(private("/imagine"), LIMITS))


def test_blend_photo_counts() -> None:
    assert "you sent 1" in hint(route(private("/blend", images=photos(1)), LIMITS))
    assert "you sent 0" in hint(route(private("/blend"), LIMITS))
    for n in (2, 3, 4, 5):
        images = photos(n)
        assert route(private("/blend", images=images), LIMITS) == c.Blend(images, "SQUARE")
    assert "2 to 5" in hint(route(private("/blend", images=photos(6)), LIMITS))


@pytest.mark.parametrize(
    ("args", "expected"),
    [("", "SQUARE"), ("portrait", "PORTRAIT"), ("  Landscape ", "LANDSCAPE"), ("SQUARE", "SQUARE")],
)
def test_blend_dimensions(args: str, expected: str) -> None:
    images = photos(2)
    assert route(private(f"/blend {args}", images=images), LIMITS) == c.Blend(images, expected)


def test_blend_bad_dimensions_is_a_hint() -> None:
    assert "portrait|square|landscape" in hint(route(private("/blend wide", images=photos(2)), LIMITS))


def test_image_command() -> None:
    assert route(private("/image a watercolor fox"), LIMITS) == c.GenerateImage("a watercolor fox")
    assert "Usage: /image" in hint(route(private("/image"), LIMITS))


def test_edit_command() -> None:
    images = photos(2)
    assert route(private("/edit make it night", images=images), LIMITS) == c.EditImages(
        "make it night", images
    )
    assert "Send one or more photos" in hint(route(private("/edit make it night"), LIMITS))
    assert "Say what to change" in hint(route(private("/edit", images=images), LIMITS))


def test_usage_new_help_start() -> None:
    assert route(private("/usage"), LIMITS) == c.ShowUsage()
    assert route(private("/usage week"), LIMITS) == c.ShowUsage(c.UsageView.TOTALS, c.UsagePeriod.WEEK)
    assert route(private("/new"), LIMITS) == c.NewConversation()
    assert route(private("/help"), LIMITS) == c.Help()
    assert route(private("/start"), LIMITS) == c.Help()
    assert route(private("/start deep-link-payload"), LIMITS) == c.Help()


def test_unknown_command() -> None:
    assert "Unknown command /frobnicate" in hint(route(private("/frobnicate now"), LIMITS))
    assert route(group("/frobnicate now"), LIMITS) == c.Ignore()
    assert "Unknown command" in hint(route(group("/frobnicate", mentioned=True), LIMITS))


def test_command_addressed_with_bot_name() -> None:
    assert route(group("/imagine@wenwen_bot a cat"), LIMITS) == c.Imagine("a cat")
    assert route(private("/HELP@WenwenBot"), LIMITS) == c.Help()
    assert route(private("/ask@wenwen_bot\nmulti\nline"), LIMITS) == c.Chat("multi\nline", explicit=True)


def test_split_command() -> None:
    assert split_command("/imagine@bot a cat") == ("imagine", "a cat")
    assert split_command("/Imagine") == ("imagine", "")
    assert split_command("/ask  spaced   out ") == ("ask", "spaced   out")
    assert split_command("/ask\nline one\nline two") == ("ask", "line one\nline two")
    assert split_command("hello /ask") is None
    assert split_command("/") is None
    assert split_command("/etc/hosts") is None


def test_menu_lists_the_commands() -> None:
    names = {spec.name for spec in COMMANDS if spec.in_menu}
    assert names >= {"ask", "image", "imagine", "blend", "edit", "usage", "new", "help"}
    assert "start" not in names
    assert len({spec.name for spec in COMMANDS}) == len(COMMANDS)


def test_mask_model_and_system_commands() -> None:
    photo, mask = photos(2)
    assert route(private("/mask add a hat", images=(photo, mask)), LIMITS) == c.EditImages(
        "add a hat", (photo,), mask=mask
    )
    assert "two photos" in hint(route(private("/mask add a hat", images=photos(1)), LIMITS))
    assert "Say what to change" in hint(route(private("/mask", images=photos(2)), LIMITS))
    assert route(private("/model"), LIMITS) == c.ChooseModel("")
    assert route(private("/model gpt-4o"), LIMITS) == c.ChooseModel("gpt-4o")
    assert route(private("/system You are terse."), LIMITS) == c.SetSystemPrompt("You are terse.")
    assert "8,000" in hint(route(private("/system " + "s" * 9000), LIMITS))


# --- photos and other media ----------------------------------------------------------------


def test_photo_without_caption_is_a_hint() -> None:
    assert "what should I change" in hint(route(private(images=photos(1)), LIMITS))
    assert route(group(images=photos(1)), LIMITS) == c.Ignore()


def test_captioned_photo_is_photo_caption() -> None:
    images = photos(3)
    assert route(private("make the sky pink", images=images), LIMITS) == c.PhotoCaption(
        "make the sky pink", images
    )
    assert route(group("make it pink", images=images, mentioned=True), LIMITS) == c.PhotoCaption(
        "make it pink", images
    )
    assert route(group("nice photo", images=images), LIMITS) == c.Ignore()


def test_unsupported_media() -> None:
    assert "sticker" in hint(route(private(unsupported="sticker"), LIMITS))
    assert route(group(unsupported="sticker"), LIMITS) == c.Ignore()
    assert "voice" in hint(route(group(unsupported="voice message", reply_to_bot=True), LIMITS))


# --- buttons -------------------------------------------------------------------------------


def test_button_press_keeps_the_task_id_as_text() -> None:
    command = route(private(callback=f"mj:{BIG_ID}:3"), LIMITS)
    assert command == c.MjButtonPress(BIG_ID, 3)
    assert isinstance(command, c.MjButtonPress)
    assert isinstance(command.task_id, str)
    assert button_payload(BIG_ID, 3) == f"mj:{BIG_ID}:3"
    assert route(group(callback=button_payload(BIG_ID, 0)), LIMITS) == c.MjButtonPress(BIG_ID, 0)


def test_seed_and_model_buttons() -> None:
    assert seed_payload(BIG_ID) == f"mj:{BIG_ID}:seed"
    assert route(private(callback=seed_payload(BIG_ID)), LIMITS) == c.MjSeed(BIG_ID)
    assert route(private(callback="model:gpt-4o"), LIMITS) == c.ChooseModel("gpt-4o")


@pytest.mark.parametrize(
    "payload",
    [
        "",
        "mj",
        "mj:",
        "mj::1",
        f"mj:{BIG_ID}",
        f"mj:{BIG_ID}:",
        f"mj:{BIG_ID}:x",
        "xx:1:1",
        "mj:1:-1",
        "mj:1:²",
        "mj:1:١",
        "mj:1:p",
        "mj:1:p5",
        "mj:1:p0",
        "mj:1:p²",
    ],
)
def test_bad_button_payload_is_a_hint(payload: str) -> None:
    assert "no longer valid" in hint(route(private(callback=payload), LIMITS))


def test_describe_and_its_buttons() -> None:
    one, two = photos(1), photos(2)
    assert route(private("/describe", images=one), LIMITS) == c.Describe(one[0])
    # Sent as a reply to someone's photo, it describes that photo; its own photo comes first.
    assert route(group("/describe", replied_images=one), LIMITS) == c.Describe(one[0])
    assert route(private("/describe", images=one, replied_images=photos(1)), LIMITS) == c.Describe(one[0])
    assert "reply to a photo with /describe" in hint(route(private("/describe"), LIMITS))
    assert "one photo at a time (you sent 2)" in hint(route(private("/describe", images=two), LIMITS))
    assert router.describe(one) == c.Describe(one[0])  # what the Discord adapter calls
    assert router.prompt_payload(BIG_ID, 4) == f"mj:{BIG_ID}:p4"
    assert route(private(callback=f"mj:{BIG_ID}:p4"), LIMITS) == c.MjImaginePrompt(BIG_ID, 4)


def test_an_answer_to_a_question_is_checked_like_any_prompt() -> None:
    answer = c.MjPromptAnswer("r1", "x" * 8001)
    assert "8,001 characters" in hint(route(discord(answer), LIMITS))
    fits = c.MjPromptAnswer("r1", "a tower --zoom 2")
    assert route(discord(fits), LIMITS) == fits
    assert router.ask_payload("r1") == "mjask:r1"


# --- limits --------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["x" * 50_000, "/ask " + "x" * 50_000, "/imagine " + "x" * 50_000])
def test_huge_prompt_is_a_hint_naming_the_limit(text: str) -> None:
    message = hint(route(private(text), LIMITS))
    assert "8,000" in message
    assert "50,000" in message


def test_huge_caption_and_edit_prompt_are_hints() -> None:
    assert "8,000" in hint(route(private("y" * 9000, images=photos(1)), LIMITS))
    assert "8,000" in hint(route(private("/edit " + "y" * 9000, images=photos(1)), LIMITS))
    assert "8,000" in hint(route(private("/image " + "y" * 9000), LIMITS))


def test_prompt_exactly_at_the_limit_passes() -> None:
    assert route(private("z" * 8000), LIMITS) == c.Chat("z" * 8000)


def test_too_many_photos_is_a_hint() -> None:
    message = hint(route(private("make them pink", images=photos(11)), LIMITS))
    assert "11" in message
    assert "10" in message
    assert "at most 10" in hint(route(private("/edit pink", images=photos(11)), LIMITS))
    assert route(private("make them pink", images=photos(10)), LIMITS) == c.PhotoCaption(
        "make them pink", photos(10)
    )
    assert route(group("make them pink", images=photos(11)), LIMITS) == c.Ignore()


def test_custom_limits() -> None:
    tight = Limits(max_prompt_chars=100, max_images=2)
    assert "100" in hint(route(private("q" * 101), tight))
    assert "at most 2" in hint(route(private("x", images=photos(3)), tight))


# --- builders shared with Discord's structured options --------------------------------------


def test_builders_make_the_same_commands_as_text() -> None:
    assert router.ask(" what is a quasar? ") == c.Chat("what is a quasar?", explicit=True)
    assert router.imagine(" a cat ") == c.Imagine("a cat")
    assert router.image("a fox") == c.GenerateImage("a fox")
    assert router.usage() == c.ShowUsage()
    assert router.usage(c.UsageView.CHART) == c.ShowUsage(c.UsageView.CHART)
    assert "Usage: /imagine" in hint(router.imagine(""))


def test_blend_and_edit_builders() -> None:
    three = photos(3)
    assert router.blend("landscape", three) == c.Blend(three, "LANDSCAPE")
    assert router.blend("", photos(2)) == c.Blend(photos(2), "SQUARE")
    assert "you sent 1" in hint(router.blend("square", photos(1)))
    one = photos(1)
    assert router.edit("add a hat", one) == c.EditImages("add a hat", one)


def test_a_parsed_command_is_still_checked_against_the_limits() -> None:
    assert route(discord(c.Chat("q")), LIMITS) == c.Chat("q")
    assert "8,000" in hint(route(discord(c.Chat("w" * 9000, explicit=True)), LIMITS))
    eleven = photos(11)
    assert "at most 10" in hint(route(discord(c.EditImages("x", eleven), eleven), LIMITS))


def test_hints_do_not_use_one_platforms_words() -> None:
    # Discord users get the same hints: Telegram's "caption" and "album" mean nothing there.
    hints = [
        hint(router.mask("add a hat", photos(1))),
        hint(router.mask("", photos(2))),
        hint(route(group(unsupported="PDF files", mentioned=True), LIMITS)),
        *(str(spec.description) for spec in COMMANDS),
    ]
    for text in hints:
        assert "caption" not in text.lower() and "album" not in text.lower(), text


# --- /usage and /admin are parsed once, into typed fields -----------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("", c.ShowUsage()),
        ("today", c.ShowUsage(c.UsageView.TOTALS, c.UsagePeriod.TODAY)),
        ("ME week", c.ShowUsage(c.UsageView.MINE, c.UsagePeriod.WEEK)),
        ("me", c.ShowUsage(c.UsageView.MINE)),
        ("chart", c.ShowUsage(c.UsageView.CHART)),
        ("export", c.ShowUsage(c.UsageView.EXPORT)),
    ],
)
def test_usage_arguments(args: str, expected: c.Command) -> None:
    assert route(private(f"/usage {args}"), LIMITS) == expected


@pytest.mark.parametrize("args", ["yesterday", "me yesterday", "chart week", "week month"])
def test_bad_usage_arguments_are_a_hint(args: str) -> None:
    assert "Usage: /usage" in hint(route(private(f"/usage {args}"), LIMITS))


def test_admin_commands_are_typed() -> None:
    assert route(private("/admin"), LIMITS) == c.AdminHelp()
    assert route(private("/admin frobnicate"), LIMITS) == c.AdminHelp()
    assert route(private("/admin allow"), LIMITS) == c.AdminAccess(True)
    assert route(private("/admin deny -100123"), LIMITS) == c.AdminAccess(False, "tg:-100123")
    assert route(private("/admin deny dc:" + BIG_ID), LIMITS) == c.AdminAccess(False, "dc:" + BIG_ID)
    assert route(private("/admin usage"), LIMITS) == c.AdminUsage()
    assert route(private("/admin usage tg:-100 week"), LIMITS) == c.AdminUsage("tg:-100", c.UsagePeriod.WEEK)
    budget = route(private("/admin budget tg:-100 user day images 10"), LIMITS)
    assert isinstance(budget, c.AdminBudget) and budget.chat == "tg:-100" and budget.change is not None
    assert (str(budget.change.key), budget.change.amount, budget.change.reset) == (
        "user.day.images",
        10,
        False,
    )
    off = route(private("/admin budget chat.day.mj=off"), LIMITS)
    assert isinstance(off, c.AdminBudget) and off.change is not None and off.change.amount is None
    reset = route(private("/admin budget chat day mj default"), LIMITS)
    assert isinstance(reset, c.AdminBudget) and reset.change is not None and reset.change.reset
    assert route(private("/admin budget"), LIMITS) == c.AdminBudget()


@pytest.mark.parametrize(
    "key",
    [
        "tg:abc",
        "tg:1\u202e2",
        "xx:123",
        "tg:",
        "tg:-0",
        "dc:-5",
        "tg:12345678901234567",
        "dc:99999999999999999999",
    ],
)
def test_malformed_chat_keys_are_refused_by_name(key: str) -> None:
    key = key.encode().decode("unicode_escape")
    for text in (f"/admin allow {key}", f"/admin budget {key}", f"/admin usage {key}"):
        message = hint(route(private(text), LIMITS))
        assert "is not a chat key" in message
        assert "\u202e" not in message, "control characters are shown escaped, never raw"


@pytest.mark.parametrize(
    ("args", "why"),
    [
        ("chat day images 1e309", "too large"),
        ("chat day cost 1e-26", "less than the smallest"),
        ("chat day cost nan", "zero or more"),
        ("chat day cost inf", "zero or more"),
        ("chat day cost -1", "zero or more"),
        ("chat day images 1.5", "whole numbers"),
        ("chat week images 1", "unknown period"),
        ("chat day images lots", "not a number"),
    ],
)
def test_budget_numbers_are_finite_and_sane(args: str, why: str) -> None:
    message = hint(route(private(f"/admin budget {args}"), LIMITS))
    assert why in message and "Example: /admin budget" in message


# --- answer controls -------------------------------------------------------------------------

KEY = "0123456789abcdef0123456789abcdef"


def test_answer_buttons_name_their_answer() -> None:
    assert route(group(callback=router.regenerate_payload(KEY)), LIMITS) == c.Regenerate(KEY)
    assert route(group(callback=router.stop_payload(KEY)), LIMITS) == c.StopAnswer(KEY)
    assert route(private(callback=router.continue_payload(KEY)), LIMITS) == c.ContinueAnswer(KEY)
    assert all(len(p(KEY).encode()) <= 64 for p in (router.regenerate_payload, router.stop_payload))


@pytest.mark.parametrize(
    "payload", ["regen:", "stop:xyz", f"more:{KEY}0", f"regen:{KEY.upper()}", "stop:../1"]
)
def test_a_malformed_answer_button_is_a_hint(payload: str) -> None:
    assert "no longer valid" in hint(route(group(callback=payload), LIMITS))

"""The fake Telegram server driven by a real aiogram Bot and Dispatcher."""

from __future__ import annotations

import asyncio
import contextlib
import io
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramRetryAfter,
)
from aiogram.filters import Command
from aiogram.methods import TelegramMethod
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    Message,
    ReplyParameters,
)
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from PIL import Image

from tests.fakes.telegram_api import (
    ERR_CONFLICT,
    ERR_NOT_MODIFIED,
    ERR_TERMINATED_BY_SET_WEBHOOK,
    ERR_WEBHOOK_ACTIVE,
    JSON,
    SECRET_TOKEN_HEADER,
    Call,
    FakeTelegram,
    format_text,
    polling,
)

TOKEN = "123456:TEST"


def make_image(width: int = 1000, height: int = 600, fmt: str = "JPEG") -> bytes:
    image = Image.new("RGB", (width, height))
    for x in range(0, width, 50):
        image.paste((x % 256, 80, 160), (x, 0, min(x + 50, width), height))
    buf = io.BytesIO()
    image.save(buf, format=fmt)
    return buf.getvalue()


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN, bot_username="wenwen_test_bot") as server:
        yield server


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url))
    bot = Bot(TOKEN, session=session)
    yield bot
    await bot.session.close()


@contextlib.asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """Serve ``app`` on a free localhost port for the ``async with`` body; yields the base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        await runner.cleanup()


@dataclass
class Receiver:
    """A webhook endpoint: records each POST, answers ``statuses`` in turn, then 200 + ``reply``."""

    url: str = ""
    bodies: list[JSON] = field(default_factory=list)
    secrets: list[str | None] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    reply: JSON = field(default_factory=dict)

    @property
    def update_ids(self) -> list[int]:
        return [body["update_id"] for body in self.bodies]

    async def handle(self, request: web.Request) -> web.Response:
        self.bodies.append(await request.json())
        self.secrets.append(request.headers.get(SECRET_TOKEN_HEADER))
        status = self.statuses.pop(0) if self.statuses else 200
        return web.json_response(self.reply if status == 200 else {}, status=status)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    endpoint = Receiver()
    app = web.Application()
    app.router.add_post("/hook", endpoint.handle)
    async with serving(app) as base_url:
        endpoint.url = f"{base_url}/hook"
        yield endpoint


# ---- through the Dispatcher ------------------------------------------------------------------


async def test_text_update_reaches_handler_and_reply_is_recorded(fake: FakeTelegram, bot: Bot) -> None:
    router = Router()

    @router.message(Command("start"))
    async def on_start(message: Message) -> None:
        await message.answer("welcome")

    @router.message(F.text)
    async def on_text(message: Message) -> None:
        await message.reply(f"echo: {message.text}")

    dp = Dispatcher()
    dp.include_router(router)
    ann = fake.user(id=1001, first_name="Ann", username="ann")
    chat = fake.private_chat(ann)

    async with polling(dp, bot):
        start = fake.send_text(chat, ann, "/start")
        welcome = await fake.wait_for("sendMessage")
        hello = fake.send_text(chat, ann, "hello")
        echo = await fake.wait_for("sendMessage", lambda c: c.params["text"].startswith("echo"))

    assert start["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert welcome.params == {"chat_id": 1001, "text": "welcome"}
    assert echo.params["text"] == "echo: hello"
    assert echo.params["reply_parameters"]["message_id"] == hello["message"]["message_id"]
    history = fake.messages_in(1001)
    assert [m["message_id"] for m in history] == [1, 2, 3, 4]
    assert history[-1]["from"]["username"] == "wenwen_test_bot"
    assert history[-1]["reply_to_message"]["text"] == "hello"
    assert "getUpdates" not in {c.method for c in fake.calls}
    assert fake.get_updates_count >= 2
    assert fake.pending_updates == 0


async def test_photo_download_returns_the_exact_bytes(fake: FakeTelegram, bot: Bot) -> None:
    router = Router()
    received: asyncio.Future[tuple[Message, bytes]] = asyncio.get_running_loop().create_future()

    @router.message(F.photo)
    async def on_photo(message: Message, bot: Bot) -> None:
        assert message.photo is not None
        downloaded = await bot.download(message.photo[-1])
        assert downloaded is not None
        received.set_result((message, downloaded.read()))

    dp = Dispatcher()
    dp.include_router(router)
    ann = fake.user()
    chat = fake.group_chat(id=-100123, title="Team")
    image = make_image()

    async with polling(dp, bot):
        fake.send_photo(chat, ann, image, caption="make it blue @wenwen_test_bot")
        message, data = await asyncio.wait_for(received, 5)

    assert data == image
    assert message.photo is not None
    assert [(p.width, p.height) for p in message.photo] == [(90, 54), (320, 192), (800, 480), (1000, 600)]
    assert message.caption == "make it blue @wenwen_test_bot"
    assert message.caption_entities is not None
    assert message.caption_entities[0].type == "mention"
    assert message.chat.type == "supergroup"


async def test_album_updates_share_a_media_group_id(fake: FakeTelegram, bot: Bot) -> None:
    router = Router()
    seen: list[Message] = []
    all_seen = asyncio.Event()

    @router.message(F.media_group_id)
    async def on_album_part(message: Message) -> None:
        seen.append(message)
        if len(seen) == 3:
            all_seen.set()

    dp = Dispatcher()
    dp.include_router(router)
    ann = fake.user()
    chat = fake.private_chat(ann)
    images = [make_image(200, 100), make_image(100, 200), make_image(300, 300, "PNG")]

    async with polling(dp, bot):
        updates = fake.send_album(chat, ann, images, caption="merge these")
        await asyncio.wait_for(all_seen.wait(), 5)

    assert len({m.media_group_id for m in seen}) == 1
    assert [u["message"]["media_group_id"] for u in updates] == [seen[0].media_group_id] * 3
    assert [m.caption for m in sorted(seen, key=lambda m: m.message_id)] == ["merge these", None, None]


async def test_callback_query_answer_and_edit(fake: FakeTelegram, bot: Bot) -> None:
    router = Router()
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="One", callback_data="pick:1")]]
    )

    @router.message(Command("menu"))
    async def on_menu(message: Message) -> None:
        await message.answer("Pick one", reply_markup=keyboard)

    @router.callback_query(F.data.startswith("pick:"))
    async def on_pick(query: CallbackQuery) -> None:
        await query.answer("noted")
        assert isinstance(query.message, Message)
        await query.message.edit_text(f"Picked {query.data}")

    dp = Dispatcher()
    dp.include_router(router)
    ann = fake.user()
    chat = fake.private_chat(ann)

    async with polling(dp, bot):
        fake.send_text(chat, ann, "/menu")
        menu = await fake.wait_for("sendMessage")
        assert menu.params["reply_markup"] == {
            "inline_keyboard": [[{"text": "One", "callback_data": "pick:1"}]]
        }
        fake.press_button(chat, ann, menu.result["message_id"], "pick:1")
        edit = await fake.wait_for("editMessageText")
        answer = await fake.wait_for("answerCallbackQuery")

    assert edit.ok
    assert answer.params["text"] == "noted"
    edited = fake.messages_in(chat["id"])[-1]
    assert edited["text"] == "Picked pick:1"
    assert "reply_markup" not in edited  # an edit without reply_markup drops the keyboard
    assert "edit_date" in edited
    with pytest.raises(ValueError, match="no button"):
        fake.press_button(chat, ann, menu.result["message_id"], "pick:2")


async def test_allowed_updates_from_the_dispatcher_filter_updates(fake: FakeTelegram, bot: Bot) -> None:
    router = Router()
    texts: list[str] = []

    @router.message(F.text)
    async def on_text(message: Message) -> None:
        texts.append(message.text or "")

    dp = Dispatcher()
    dp.include_router(router)
    ann = fake.user()
    chat = fake.private_chat(ann)
    sent = await bot.send_message(
        1001,
        "Pick",
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text="x", callback_data="x")]]
        ),
    )

    async with polling(dp, bot):
        fake.press_button(chat, ann, sent.message_id, "x")  # no callback handler → not requested
        fake.send_text(chat, ann, "after")
        await fake.wait_updates_consumed(5)
        await asyncio.sleep(0.05)

    assert texts == ["after"]
    assert fake.calls_of("answerCallbackQuery") == []


# ---- API semantics, called directly ----------------------------------------------------------


async def test_errors_surface_as_aiogram_exceptions(fake: FakeTelegram, bot: Bot) -> None:
    fake.private_chat(fake.user())

    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(1001, "x" * 4097)
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(1001, "  \n ")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(42, "hi")

    sent = await bot.send_message(1001, "same")
    with pytest.raises(TelegramBadRequest) as not_modified:
        await bot.edit_message_text("same", chat_id=1001, message_id=sent.message_id)
    assert not_modified.value.message == ERR_NOT_MODIFIED
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("new", chat_id=1001, message_id=999)

    fake.fail_next("sendMessage", error_code=429, retry_after=7)
    with pytest.raises(TelegramRetryAfter) as flood:
        await bot.send_message(1001, "hi")
    assert flood.value.retry_after == 7

    fake.fail_next("sendPhoto", description="Bad Request: PHOTO_INVALID_DIMENSIONS", times=2)
    photo = BufferedInputFile(make_image(64, 64), "p.jpg")
    for _ in range(2):
        with pytest.raises(TelegramBadRequest, match="PHOTO_INVALID_DIMENSIONS"):
            await bot.send_photo(1001, photo)
    await bot.send_photo(1001, photo)

    with pytest.raises(TelegramBadRequest, match="IMAGE_PROCESS_FAILED"):
        await bot.send_photo(1001, BufferedInputFile(b"not an image", "p.jpg"))
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.send_photo(1001, photo, caption="c" * 1025)
    too_long_data = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="b", callback_data="d" * 65)]]
    )
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(1001, "buttons", reply_markup=too_long_data)

    fake.block_bot(1001)
    with pytest.raises(TelegramForbiddenError, match="blocked"):
        await bot.send_message(1001, "hi")

    failed = [c for c in fake.calls if not c.ok]
    assert len(failed) == 12
    assert failed[0].error_code == 400


async def test_html_is_parsed_and_validated_like_telegram(fake: FakeTelegram, bot: Bot) -> None:
    fake.private_chat(fake.user())

    sent = await bot.send_message(
        1001, "<b>bold</b> &amp; <a href='https://x.org'>link</a> 🙂", parse_mode="HTML"
    )
    assert sent.text == "bold & link 🙂"
    assert [(e.type, e.offset, e.length) for e in sent.entities or []] == [
        ("bold", 0, 4),
        ("text_link", 7, 4),
    ]
    with pytest.raises(TelegramBadRequest, match="Can't find end tag corresponding to start tag b"):
        await bot.send_message(1001, "<b>open", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match='Unsupported start tag "" at byte offset 2'):
        await bot.send_message(1001, "a < b", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="unsupported parse_mode 'MarkdownV2'"):
        await bot.send_message(1001, "Done.", parse_mode="MarkdownV2")  # the bot only sends HTML

    assert format_text("😀<i>x</i>", "HTML")[1] == [{"type": "italic", "offset": 2, "length": 1}]
    # Same rendered text, different markup source: still "not modified".
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            '<b>bold</b> &amp; <a href="https://x.org">link</a> 🙂',
            chat_id=1001,
            message_id=sent.message_id,
            parse_mode="HTML",
        )


async def test_uploads_are_recorded_and_downloadable(fake: FakeTelegram, bot: Bot) -> None:
    fake.private_chat(fake.user())
    first, second = make_image(640, 480), make_image(480, 640, "PNG")

    album = await bot.send_media_group(
        1001,
        [
            InputMediaPhoto(media=BufferedInputFile(first, "a.jpg"), caption="two"),
            InputMediaPhoto(media=BufferedInputFile(second, "b.png")),
        ],
        reply_parameters=ReplyParameters(message_id=77, allow_sending_without_reply=True),
    )
    call = fake.calls_of("sendMediaGroup")[0]
    assert call.files == {"media.0": first, "media.1": second}
    assert call.params["media"][0]["caption"] == "two"
    assert album[0].media_group_id == album[1].media_group_id is not None
    assert album[1].photo is not None
    downloaded = await bot.download(album[1].photo[-1].file_id)
    assert downloaded is not None and downloaded.read() == second

    document = await bot.send_document(1001, BufferedInputFile(b"%PDF-1.4 fake", "report.pdf"), caption="r")
    doc_call = fake.calls_of("sendDocument")[0]
    assert doc_call.files["document"] == b"%PDF-1.4 fake"
    assert doc_call.file_names["document"] == "report.pdf"
    assert document.document is not None and document.document.mime_type == "application/pdf"

    # Re-sending by file_id needs no upload.
    again = await bot.send_photo(1001, album[0].photo[-1].file_id if album[0].photo else "")
    assert fake.calls_of("sendPhoto")[-1].files == {}
    assert again.photo == album[0].photo


async def test_get_file_limits_and_documents(fake: FakeTelegram, bot: Bot) -> None:
    ann = fake.user()
    chat = fake.private_chat(ann)
    big = fake.send_photo(chat, ann, make_image(50, 50), file_size=25 * 1024 * 1024)
    doc = fake.send_photo(chat, ann, make_image(50, 50, "PNG"), as_document=True, mime_type="image/png")
    pdf = fake.send_document(chat, ann, b"%PDF", file_name="spec.pdf")

    with pytest.raises(TelegramBadRequest, match="file is too big"):
        await bot.get_file(big["message"]["photo"][-1]["file_id"])
    assert doc["message"]["document"]["mime_type"] == "image/png"
    downloaded = await bot.download(doc["message"]["document"]["file_id"])
    assert downloaded is not None and downloaded.read() == fake.file_bytes(
        doc["message"]["document"]["file_id"]
    )
    assert pdf["message"]["document"]["file_name"] == "spec.pdf"
    sticker = fake.send_sticker(chat, ann)
    assert sticker["message"]["sticker"]["emoji"] == "👍"


async def test_drafts_actions_commands_and_chat(fake: FakeTelegram, bot: Bot) -> None:
    ann = fake.user()
    fake.private_chat(ann)
    fake.group_chat(id=-100555, title="Forum", is_forum=True)

    assert await bot.send_message_draft(chat_id=1001, draft_id=5, text="Thinking…") is True
    with pytest.raises(ValueError, match="never shown with a stop button"):
        fake.stop_draft({"id": 1001}, 5)
    assert await bot.send_message_draft(chat_id=1001, draft_id=6, text="Thinking…", can_stop=True) is True
    stopped = fake.stop_draft({"id": 1001, "type": "private"}, 6)
    assert stopped["stopped_message_generation"] == {"chat": {"id": 1001, "type": "private"}, "draft_id": 6}
    with pytest.raises(TelegramBadRequest, match="TEXTDRAFT_PEER_INVALID"):
        await bot.send_message_draft(chat_id=-100555, draft_id=5, text="x")
    assert await bot.send_chat_action(1001, "typing") is True
    with pytest.raises(TelegramBadRequest, match="wrong parameter action"):
        await bot.send_chat_action(1001, "dancing")

    from aiogram.types import BotCommand

    await bot.set_my_commands([BotCommand(command="start", description="Start")])
    assert [c.command for c in await bot.get_my_commands()] == ["start"]
    assert fake.commands_for() == [{"command": "start", "description": "Start"}]
    await bot.delete_my_commands()
    assert await bot.get_my_commands() == []

    info = await bot.get_chat(-100555)
    assert info.title == "Forum" and info.is_forum
    topic = await bot.send_message(-100555, "in topic", message_thread_id=9)
    assert topic.message_thread_id == 9 and topic.is_topic_message
    me = await bot.get_me()
    assert me.username == "wenwen_test_bot" and me.id == 123456


async def test_long_polling_offset_timeout_and_conflict(fake: FakeTelegram, bot: Bot) -> None:
    ann = fake.user()
    chat = fake.private_chat(ann)
    fake.send_text(chat, ann, "one")
    fake.send_text(chat, ann, "two")

    first = await bot.get_updates(timeout=0, limit=1)
    assert [u.message.text for u in first if u.message] == ["one"]
    rest = await bot.get_updates(offset=first[0].update_id + 1, timeout=0)
    assert [u.message.text for u in rest if u.message] == ["two"]

    loop = asyncio.get_running_loop()
    started = loop.time()
    waiting = asyncio.create_task(bot.get_updates(offset=rest[0].update_id + 1, timeout=5))
    await asyncio.sleep(0.2)
    fake.send_text(chat, ann, "three")
    woke = await waiting
    assert [u.message.text for u in woke if u.message] == ["three"]
    assert loop.time() - started < 2

    empty_started = loop.time()
    assert await bot.get_updates(offset=woke[0].update_id + 1, timeout=1) == []
    assert loop.time() - empty_started >= 0.9

    # Raw HTTP: JSON bodies, unknown methods and the conflict between two pollers.
    url = f"{fake.base_url}/bot{TOKEN}"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{url}/sendMessage", json={"chat_id": "1001", "text": "json"}) as resp:
            assert (await resp.json())["result"]["text"] == "json"
        async with http.post(f"{url}/sendMessage", data={"chat_id": "1001", "text": "123"}) as resp:
            assert (await resp.json())["result"]["text"] == "123"
        async with http.get(f"{url}/noSuchMethod") as resp:
            assert resp.status == 404
            assert await resp.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found: method not found",
            }
        parked = asyncio.create_task(http.post(f"{url}/getUpdates", json={"timeout": 5}))
        await asyncio.sleep(0.1)
        async with http.post(f"{url}/getUpdates", json={"timeout": 0}) as resp:
            assert (await resp.json())["ok"] is True
        async with await parked as resp:
            assert resp.status == 409
    assert fake.calls_of("sendMessage")[-1].params == {"chat_id": 1001, "text": "123"}


async def test_wait_for_times_out_with_a_dump(fake: FakeTelegram, bot: Bot) -> None:
    fake.private_chat(fake.user())
    await bot.send_message(1001, "only this")
    with pytest.raises(AssertionError, match=r"sendPhoto.*\n.*sendMessage \[ok\]"):
        await fake.wait_for("sendPhoto", timeout=0.1)
    predicate: Any = lambda c: c.params["text"] == "only this"  # noqa: E731
    found: Call = await fake.wait_for("sendMessage", predicate)
    assert found.result["text"] == "only this"


# ---- 409 conflicts -----------------------------------------------------------------------------


async def test_overlapping_long_polls_terminate_the_older_with_409(fake: FakeTelegram) -> None:
    url = f"{fake.base_url}/bot{TOKEN}"
    async with aiohttp.ClientSession() as http:
        parked = asyncio.create_task(http.post(f"{url}/getUpdates", json={"timeout": 5}))
        await asyncio.sleep(0.1)
        async with http.post(f"{url}/getUpdates", json={"timeout": 0}) as resp:
            assert resp.status == 200
            assert await resp.json() == {"ok": True, "result": []}
        async with await parked as resp:
            assert resp.status == 409
            assert await resp.json() == {"ok": False, "error_code": 409, "description": ERR_CONFLICT}

    assert fake.conflicts == 1
    [failed] = [call for call in fake.calls if not call.ok]  # getUpdates is recorded when it fails
    assert (failed.method, failed.error_code, failed.params) == ("getUpdates", 409, {"timeout": 5})
    assert fake.calls_of("getUpdates") == [failed]


async def test_one_poller_restarting_sees_no_conflict(fake: FakeTelegram) -> None:
    router = Router()

    @router.message(F.text)
    async def on_text(message: Message) -> None:
        await message.answer(f"got {message.text}")

    dp = Dispatcher()
    dp.include_router(router)
    ann = fake.user()
    chat = fake.private_chat(ann)

    # Each stop leaves a long poll parked on the server whose client has gone: the next poll
    # terminates it, but that 409 reaches nobody and is not a conflict.
    for round_ in range(3):
        bot = fake.make_bot()
        async with polling(dp, bot):
            await asyncio.sleep(0.2)  # the new poll is parked before an update wakes the old one
            fake.send_text(chat, ann, f"round {round_}")
            await fake.wait_for("sendMessage", count=round_ + 1)
            await asyncio.sleep(0.1)  # parked again
    await asyncio.sleep(0.1)

    assert fake.conflicts == 0
    assert [call for call in fake.calls if not call.ok] == []


async def test_get_updates_while_a_webhook_is_set_is_a_conflict(
    fake: FakeTelegram, bot: Bot, receiver: Receiver
) -> None:
    parked = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    assert await bot.set_webhook(receiver.url) is True
    with pytest.raises(TelegramConflictError) as terminated:
        await parked
    assert terminated.value.message == ERR_TERMINATED_BY_SET_WEBHOOK

    url = f"{fake.base_url}/bot{TOKEN}"
    async with aiohttp.ClientSession() as http, http.post(f"{url}/getUpdates", json={}) as resp:
        assert resp.status == 409
        assert await resp.json() == {"ok": False, "error_code": 409, "description": ERR_WEBHOOK_ACTIVE}

    assert fake.conflicts == 2
    assert [(c.method, c.error) for c in fake.calls if not c.ok] == [
        ("getUpdates", ERR_TERMINATED_BY_SET_WEBHOOK),
        ("getUpdates", ERR_WEBHOOK_ACTIVE),
    ]


# ---- webhooks --------------------------------------------------------------------------------


async def test_set_webhook_validates_url_and_secret_token(fake: FakeTelegram, bot: Bot) -> None:
    hook = "https://bot.example.org/hook"
    with pytest.raises(TelegramBadRequest, match="secret token contains unallowed characters"):
        await bot.set_webhook(hook, secret_token="base64+with/slashes=")
    with pytest.raises(TelegramBadRequest, match="secret token is too long"):
        await bot.set_webhook(hook, secret_token="a" * 257)
    with pytest.raises(TelegramBadRequest, match="An HTTPS URL must be provided for webhook"):
        await bot.set_webhook("ftp://bot.example.org/hook")
    with pytest.raises(TelegramBadRequest, match="invalid webhook URL specified"):
        await bot.set_webhook("https:///hook")
    assert [c.error_code for c in fake.calls_of("setWebhook")] == [400] * 4
    assert fake.webhook_url is None

    assert await bot.set_webhook(hook, secret_token="A-z_09" * 42 + "abcd", max_connections=500)
    info = await bot.get_webhook_info()
    assert (info.url, info.max_connections) == (hook, 100)  # clamped like Telegram


async def test_webhook_delivers_in_order_with_the_secret_and_reports_info(
    fake: FakeTelegram, bot: Bot, receiver: Receiver
) -> None:
    ann = fake.user()
    chat = fake.private_chat(ann)
    dropped = fake.send_text(chat, ann, "dropped by drop_pending_updates")
    assert await bot.set_webhook("http://127.0.0.1:9/parked", drop_pending_updates=True)
    assert await bot.delete_webhook()
    before = fake.send_text(chat, ann, "queued while no webhook is set")
    info = await bot.get_webhook_info()
    assert (info.url, info.has_custom_certificate, info.pending_update_count) == ("", False, 1)

    assert await bot.set_webhook(
        receiver.url, secret_token="s3cret_-X", max_connections=3, allowed_updates=["message"]
    )
    after = fake.send_text(chat, ann, "sent while the webhook is set")
    fake.edit_text(chat, ann, after["message"]["message_id"], "edited")  # not an allowed update
    third = fake.send_text(chat, ann, "third")
    await fake.wait_webhook_idle(5)

    assert receiver.bodies == [before, after, third]
    assert dropped["update_id"] not in receiver.update_ids
    assert receiver.secrets == ["s3cret_-X"] * 3
    assert [(d.update_id, d.status, d.error, d.redelivery) for d in fake.webhook_deliveries] == [
        (update["update_id"], 200, None, False) for update in (before, after, third)
    ]
    info = await bot.get_webhook_info()
    assert info.url == receiver.url
    assert info.has_custom_certificate is False
    assert info.pending_update_count == 0
    assert info.max_connections == 3
    assert info.allowed_updates == ["message"]
    assert info.last_error_date is None and info.last_error_message is None
    assert fake.conflicts == 0


async def test_failed_deliveries_are_retried_with_backoff_until_2xx(
    fake: FakeTelegram, bot: Bot, receiver: Receiver
) -> None:
    fake.webhook_retry_min = 0.05
    ann = fake.user()
    chat = fake.private_chat(ann)
    first = fake.send_text(chat, ann, "one")
    second = fake.send_text(chat, ann, "two")

    # Nothing listens on this port: refused, retried; a new setWebhook cuts the backoff short.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    assert await bot.set_webhook(dead)
    for _ in range(500):  # refused at once, then again after 0.05 s
        if len(fake.webhook_deliveries) >= 2:
            break
        await asyncio.sleep(0.01)
    info = await bot.get_webhook_info()
    assert info.last_error_message == "Connection refused"
    assert info.last_error_date is not None
    assert info.pending_update_count == 2

    receiver.statuses = [500, 500]
    assert await bot.set_webhook(receiver.url)
    await fake.wait_webhook_idle(5)

    to_receiver = [d for d in fake.webhook_deliveries if d.url == receiver.url]
    assert [(d.update_id, d.status) for d in to_receiver] == [
        (first["update_id"], 500),
        (first["update_id"], 500),
        (first["update_id"], 200),
        (second["update_id"], 200),
    ]
    assert to_receiver[0].error == "Wrong response from the webhook: 500 Internal Server Error"
    assert to_receiver[1].at - to_receiver[0].at >= 0.045
    assert to_receiver[2].at - to_receiver[1].at >= 0.09  # the delay doubles
    assert receiver.update_ids == [first["update_id"]] * 3 + [second["update_id"]]
    info = await bot.get_webhook_info()
    assert info.pending_update_count == 0
    assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"


async def test_redeliver_fraction_posts_confirmed_updates_again(
    fake: FakeTelegram, bot: Bot, receiver: Receiver
) -> None:
    fake.redeliver_fraction = 1.0
    ann = fake.user()
    chat = fake.private_chat(ann)
    ids = [fake.send_text(chat, ann, text)["update_id"] for text in ("a", "b", "c")]

    assert await bot.set_webhook(receiver.url)
    await fake.wait_webhook_idle(5)

    assert receiver.update_ids == [ids[0], ids[0], ids[1], ids[1], ids[2], ids[2]]
    assert receiver.bodies[0] == receiver.bodies[1]
    assert [d.redelivery for d in fake.webhook_deliveries] == [False, True] * 3

    # Seeded: the same seed picks the same updates to send twice.
    patterns = []
    for _ in range(2):
        fake.rng.seed(7)
        fake.redeliver_fraction = 0.5
        start = len(fake.webhook_deliveries)
        for n in range(10):
            fake.send_text(chat, ann, f"seeded {n}")
        await fake.wait_webhook_idle(5)
        patterns.append([d.redelivery for d in fake.webhook_deliveries[start:]])
    assert patterns[0] == patterns[1]
    assert 10 < len(patterns[0]) < 20


async def test_delete_webhook_brings_polling_back(fake: FakeTelegram, bot: Bot, receiver: Receiver) -> None:
    ann = fake.user()
    chat = fake.private_chat(ann)
    assert await bot.set_webhook(receiver.url)
    by_webhook = fake.send_text(chat, ann, "by webhook")
    await fake.wait_webhook_idle(5)

    assert await bot.delete_webhook()
    by_polling = fake.send_text(chat, ann, "by polling")
    await asyncio.sleep(0.1)
    updates = await bot.get_updates(timeout=0)
    assert [u.update_id for u in updates] == [by_polling["update_id"]]
    assert receiver.update_ids == [by_webhook["update_id"]]
    assert (await bot.get_webhook_info()).url == ""

    fake.send_text(chat, ann, "never delivered")
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert fake.pending_updates == 0
    assert await bot.get_updates(timeout=0) == []
    assert fake.conflicts == 0


async def test_methods_in_the_webhook_answer_are_executed(
    fake: FakeTelegram, bot: Bot, receiver: Receiver
) -> None:
    """aiogram's handle_in_background=False answers with the handler's method (multipart)."""
    router = Router()
    image = make_image(64, 48)

    @router.message(F.text == "photo")
    async def on_photo(message: Message) -> TelegramMethod[Any]:
        return message.answer_photo(BufferedInputFile(image, "p.jpg"), caption="here")

    @router.message(F.text)
    async def on_text(message: Message) -> TelegramMethod[Any]:
        return message.answer(f"echo: {message.text}")

    dp = Dispatcher()
    dp.include_router(router)
    app = web.Application()
    handler = SimpleRequestHandler(dp, bot, handle_in_background=False, secret_token="tok")
    handler.register(app, path="/aiogram")
    ann = fake.user()
    chat = fake.private_chat(ann)

    async with serving(app) as base_url:
        assert await bot.set_webhook(f"{base_url}/aiogram", secret_token="tok")
        fake.send_text(chat, ann, "hi")
        fake.send_text(chat, ann, "photo")
        await fake.wait_webhook_idle(5)

        # A plain JSON answer works too.
        receiver.reply = {"method": "sendMessage", "chat_id": 1001, "text": "from json"}
        assert await bot.set_webhook(receiver.url)
        fake.send_text(chat, ann, "json")
        await fake.wait_webhook_idle(5)

    echo, from_json = fake.calls_of("sendMessage")
    assert echo.webhook_reply and echo.ok and echo.params == {"chat_id": 1001, "text": "echo: hi"}
    assert from_json.webhook_reply and from_json.result["text"] == "from json"
    [photo] = fake.calls_of("sendPhoto")
    assert photo.webhook_reply and photo.ok
    assert photo.files == {"photo": image} and photo.params["caption"] == "here"
    assert [m.get("text") or m.get("caption") for m in fake.messages_in(1001)] == [
        "hi",
        "photo",
        "echo: hi",
        "here",
        "json",
        "from json",
    ]
    assert "(webhook reply)" in echo.summary()

"""The offline Telegram harness behaves like Telegram for a tiny PTB application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from tests.telegram.fake_telegram import (
    BOT_ID,
    BOT_USERNAME,
    RecordingRequest,
    UpdateFactory,
    application_builder,
    html_error,
)

GROUP_ID = -1001234567890
Outcome = list[BaseException]


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    text = " ".join(context.args or []) or "empty"
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Open", callback_data="open:1")]])
    await update.effective_message.reply_text(text, reply_markup=markup)


async def press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer(f"you pressed {query.data}", show_alert=True)


@pytest.fixture
async def app(recording_request: RecordingRequest) -> AsyncIterator[Application[Any, Any, Any, Any, Any, Any]]:
    application = application_builder(recording_request).build()
    application.add_handler(CommandHandler("echo", echo))
    application.add_handler(CallbackQueryHandler(press))
    async with application:
        yield application


def group(updates: UpdateFactory) -> dict[str, Any]:
    return updates.group(id=GROUP_ID)


async def process(app: Application[Any, Any, Any, Any, Any, Any], raw: dict[str, Any]) -> None:
    await app.process_update(Update.de_json(raw, app.bot))


async def test_get_me_identifies_the_test_bot(app: Any, recording_request: RecordingRequest) -> None:
    assert app.bot.id == BOT_ID
    assert app.bot.username == BOT_USERNAME
    assert recording_request.methods()[0] == "getMe"


async def test_command_reply_is_recorded_and_tracked(
    app: Any, recording_request: RecordingRequest, updates: UpdateFactory
) -> None:
    alice = updates.user(1, "Alice")
    await process(app, updates.command(group(updates), alice, "/echo hello world"))
    await process(app, updates.command(group(updates), alice, f"/echo@{BOT_USERNAME} again"))

    sent = recording_request.calls_of("sendMessage", chat_id=GROUP_ID)
    assert [p["text"] for p in sent] == ["hello world", "again"]
    first = recording_request.message(GROUP_ID, 1)
    assert first["text"] == "hello world"
    assert first["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "open:1"
    assert recording_request.message(GROUP_ID, 2)["message_id"] == 2


async def test_callback_answer_recorded_and_second_answer_refused(
    app: Any, recording_request: RecordingRequest, updates: UpdateFactory
) -> None:
    raw = updates.callback(group(updates), updates.user(2, "Bob"), 1, "open:1")
    await process(app, raw)
    answer = recording_request.last("answerCallbackQuery")
    assert answer["text"] == "you pressed open:1"
    assert answer["show_alert"] is True

    with pytest.raises(BadRequest, match="(?i)query is too old"):
        await app.bot.answer_callback_query(raw["callback_query"]["id"], text="again")


async def test_replayed_update_keeps_its_id(updates: UpdateFactory) -> None:
    raw = updates.command(group(updates), updates.user(1, "Alice"), "/echo x")
    again = updates.replay(raw)
    assert again == raw and again is not raw
    assert updates.command(group(updates), updates.user(1, "Alice"), "/echo")["update_id"] > raw[
        "update_id"
    ]


async def test_limits_telegram_enforces(app: Any, recording_request: RecordingRequest) -> None:
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="x" * 65)]])
    with pytest.raises(BadRequest, match="(?i)BUTTON_DATA_INVALID"):
        await app.bot.send_message(GROUP_ID, "hi", reply_markup=too_long)
    with pytest.raises(BadRequest, match="(?i)MESSAGE_TOO_LONG"):
        await app.bot.answer_callback_query("77", text="x" * 201)
    await app.bot.answer_callback_query("78", text="x" * 200)
    with pytest.raises(BadRequest, match="(?i)parse entities"):
        await app.bot.send_message(GROUP_ID, "<b>bold", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="(?i)parse entities"):
        await app.bot.send_message(GROUP_ID, "<div>x</div>", parse_mode=ParseMode.HTML)
    assert [code for _, code, _ in recording_request.errors] == [400, 400, 400, 400]


async def test_edit_tracks_latest_text_and_refuses_no_change(
    app: Any, recording_request: RecordingRequest
) -> None:
    sent = await app.bot.send_message(GROUP_ID, "<b>1/3</b> taken", parse_mode=ParseMode.HTML)
    await app.bot.edit_message_text(
        "<b>2/3</b> taken", GROUP_ID, sent.message_id, parse_mode=ParseMode.HTML
    )
    assert recording_request.plain_text(GROUP_ID, sent.message_id) == "2/3 taken"
    with pytest.raises(BadRequest, match="(?i)not modified"):
        await app.bot.edit_message_text(
            "<b>2/3</b> taken", GROUP_ID, sent.message_id, parse_mode=ParseMode.HTML
        )


async def test_programmed_failures(app: Any, recording_request: RecordingRequest) -> None:
    recording_request.fail_next("sendMessage", 403, "Forbidden: bot can't initiate conversation with a user")
    with pytest.raises(Forbidden):
        await app.bot.send_message(42, "hi")
    recording_request.fail_next(
        "editMessageText", 429, "Too Many Requests: retry after 1", retry_after=1
    )
    with pytest.raises(RetryAfter):
        await app.bot.edit_message_text("x", GROUP_ID, 1)
    recording_request.never_started(43)
    with pytest.raises(Forbidden):
        await app.bot.send_message(43, "hi")
    assert (await app.bot.send_message(42, "hi")).message_id == 1


async def test_chat_member_status_is_configurable(
    app: Any, recording_request: RecordingRequest
) -> None:
    recording_request.set_member(GROUP_ID, 7, "administrator")
    recording_request.set_member(GROUP_ID, 8, "creator")
    assert (await app.bot.get_chat_member(GROUP_ID, 7)).status == "administrator"
    assert (await app.bot.get_chat_member(GROUP_ID, 8)).status == "creator"
    assert (await app.bot.get_chat_member(GROUP_ID, 9)).status == "member"
    assert (await app.bot.get_chat(GROUP_ID)).type == "supergroup"


async def test_photo_and_invoice(app: Any, recording_request: RecordingRequest) -> None:
    photo = await app.bot.send_photo(GROUP_ID, b"\x89PNG fake", caption="stats")
    assert photo.photo and photo.caption == "stats"
    invoice = await app.bot.send_invoice(
        42, "Top up", "100 stars", "topup:42", "XTR", [{"label": "Stars", "amount": 100}]
    )
    assert invoice.invoice is not None and invoice.invoice.total_amount == 100


def test_entities_for_command_mentions_and_text_mentions(updates: UpdateFactory) -> None:
    carol = updates.user(3, "Carol")
    raw = updates.command(
        group(updates), updates.user(1, "Alice"), "/hongbao 5 🧧 @bobby_b Carol",
        text_mentions=[carol],
    )
    entities = raw["message"]["entities"]
    assert entities[0] == {"type": "bot_command", "offset": 0, "length": 8}
    assert entities[1] == {"type": "mention", "offset": 14, "length": 8}  # 🧧 is 2 UTF-16 units
    assert entities[2]["type"] == "text_mention" and entities[2]["user"]["id"] == 3


def test_reply_to_a_user_builds_their_message(updates: UpdateFactory) -> None:
    bob = updates.user(2, "Bob")
    raw = updates.command(group(updates), updates.user(1, "Alice"), "/hongbao 5", reply_to=bob)
    assert raw["message"]["reply_to_message"]["from"]["id"] == 2


@pytest.mark.parametrize(
    "text",
    ["plain", "a &amp; b &lt;3", "<b>x</b> <i>y</i>", '<a href="https://t.me">l</a>',
     '<span class="tg-spoiler">s</span>', "<pre><code>c</code></pre>", "tom & jerry", "2 > 1"],
)
def test_html_telegram_accepts(text: str) -> None:
    assert html_error(text) is None


@pytest.mark.parametrize(
    "text", ["<b>x", "<b><i>x</b></i>", "x</b>", "<br>", "<span>x</span>", "1 < 2", "<!-- c -->"]
)
def test_html_telegram_refuses(text: str) -> None:
    assert html_error(text) is not None

"""/records (docs/rules.md §8): what a member sent and received, with paged recent packets.

In a private chat: the summary, one page of recent packets (each linked to its
result view) and Newer/Older buttons. In a group: a one-line summary only.
The page buttons carry ``rec:<page>``; data is untrusted, so the page is
clamped and the records shown are always the presser's own, in their own chat.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from core.amount import Amount
from core.packets import Member
from core.records import Page, RecentPacket, RecordsSummary, records_page

from storage.sqlite.keyboards import Keyboard

from bot import callbacks
from bot.app import BotContext, bot_context
from bot.callbacks import Action
from bot.handlers.common import answer, guarded
from bot.handlers.wallet import lang_of, member_of, records_of, reply_html, turn_of
from bot.keyboards import details_url

PAGE_DATA = callbacks.FORMATS[Action.RECORDS_PAGE]
MAX_PAGE = callbacks.MAX_RECORDS_PAGE
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def page_data(page: int) -> str:
    return callbacks.records_page(page)


def item_line(ctx: BotContext, lang: str, item: RecentPacket, bot_username: str) -> str:
    when = datetime.fromtimestamp(item.at / 1000, UTC).strftime("%m-%d %H:%M")
    amount = Amount(item.amount)
    if not item.sent and item.own:
        words = ctx.html(lang, "ux.records.item.own_share", amount=amount)
    elif not item.sent:
        words = ctx.html(lang, "records.item.received", name=item.sender_name, amount=amount)
    elif item.recipient_name is not None:
        words = ctx.html(lang, "records.item.sent_personal", name=item.recipient_name,
                         amount=amount)
    elif item.packet_kind == "fixed":
        words = ctx.html(lang, "records.item.sent_fixed", amount=amount)
    else:
        words = ctx.html(lang, "records.item.sent_lucky", amount=amount)
    notes = []
    if item.best_luck:
        notes.append(ctx.html(lang, "records.item.best_luck"))
    if item.status == "live":
        notes.append(ctx.html(lang, "records.item.live"))
    elif item.status == "expired":
        notes.append(ctx.html(lang, "records.item.expired"))
    link = html.escape(details_url(bot_username, item.packet_id, full=True), quote=True)
    tail = f" · {' · '.join(notes)}" if notes else ""
    return f'<code>{when}</code> <a href="{link}">{words}</a>{tail}'


def summary_lines(ctx: BotContext, lang: str, summary: RecordsSummary) -> list[str]:
    return [
        ctx.html(lang, "records.sent", count=summary.sent_count,
                 total=Amount(summary.sent_total)),
        ctx.html(lang, "records.received", count=summary.received_count,
                 total=Amount(summary.received_total), best=summary.best_luck_count),
    ]


def private_text(
    ctx: BotContext, lang: str, summary: RecordsSummary, page: Page, bot_username: str
) -> str:
    lines = [ctx.html(lang, "records.title"), *summary_lines(ctx, lang, summary), ""]
    if not page.items:
        lines.append(ctx.html(lang, "records.empty"))
        return "\n".join(lines)
    lines.append(ctx.html(lang, "records.recent", page=page.page + 1, pages=page.pages))
    lines.extend(item_line(ctx, lang, item, bot_username) for item in page.items)
    return "\n".join(lines)


def page_keyboard(ctx: BotContext, lang: str, page: Page) -> InlineKeyboardMarkup | None:
    row = []
    if page.has_newer:
        row.append(InlineKeyboardButton(ctx.text(lang, "records.newer"),
                                        callback_data=page_data(page.page - 1)))
    if page.has_older:
        row.append(InlineKeyboardButton(ctx.text(lang, "records.older"),
                                        callback_data=page_data(page.page + 1)))
    return InlineKeyboardMarkup([row]) if row else None


async def private_view(
    ctx: BotContext, lang: str, member: Member, page_number: int, bot_username: str
) -> tuple[str, InlineKeyboardMarkup | None, Page]:
    records = records_of(ctx)
    summary = await records.records_summary(member.id)
    page = await records_page(records, member.id, page_number)
    text = private_text(ctx, lang, summary, page, bot_username)
    return text, page_keyboard(ctx, lang, page), page


@guarded
async def records_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    turn = await turn_of(update, context)
    if turn is None:
        return
    ctx, message, member, lang = turn.ctx, turn.message, turn.member, turn.lang
    if message.chat.type != ChatType.PRIVATE:
        summary = await records_of(ctx).records_summary(member.id)
        await reply_html(update, ctx.html(
            lang, "records.group", name=member.name,
            sent_count=summary.sent_count, sent_total=Amount(summary.sent_total),
            received_count=summary.received_count,
            received_total=Amount(summary.received_total), best=summary.best_luck_count,
        ))
        return
    text, keyboard, _ = await private_view(ctx, lang, member, 0, ctx.bot_username)
    sent = await reply_html(update, text, reply_markup=keyboard, link_preview_options=NO_PREVIEW)
    if sent is not None and ctx.keyboards is not None:  # its page buttons act on it
        await ctx.keyboards.remember(sent.chat.id, sent.message_id, Keyboard.RECORDS,
                                     member.id, ctx.clock.now_ms())


async def send_records(ctx: BotContext, member: Member, lang: str) -> bool:
    """The private records view sent to ``member`` (My red packets); False if unreachable."""
    assert ctx.application is not None
    text, keyboard, _ = await private_view(ctx, lang, member, 0, ctx.bot_username)
    try:
        sent = await ctx.application.bot.send_message(
            member.id, text, parse_mode=ParseMode.HTML, reply_markup=keyboard,
            link_preview_options=NO_PREVIEW,
        )
    except TelegramError:
        return False
    if ctx.keyboards is not None:  # its page buttons act on it, as on /records'
        await ctx.keyboards.remember(sent.chat.id, sent.message_id, Keyboard.RECORDS,
                                     member.id, ctx.clock.now_ms())
    return True


@guarded
async def records_page_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is None:
        return
    ctx = bot_context(context)
    lang = ctx.lang(query.from_user.language_code)
    match = PAGE_DATA.fullmatch(query.data or "")
    message = query.message
    member = member_of(update)
    # Only the member's own private chat with us shows their records.
    if (match is None or member is None or message is None
            or message.chat.type != ChatType.PRIVATE or message.chat.id != member.id):
        await answer(ctx, query, ctx.text(lang, "records.not_here"), alert=True)
        return
    await ctx.ready()
    assert ctx.keyboards is not None
    if not await ctx.keyboards.is_a(message.chat.id, message.message_id, Keyboard.RECORDS,
                                    ctx.clock.now_ms(), owner_id=member.id):
        # Forged onto another of our messages: never overwrite it with records.
        await answer(ctx, query, ctx.text(lang, "press.invalid"))
        return
    lang = await lang_of(ctx, update)
    text, keyboard, page = await private_view(
        ctx, lang, member, int(match.group(1)), ctx.bot_username
    )
    await answer(ctx, query, ctx.text(lang, "records.page_shown", page=page.page + 1,
                                      pages=page.pages))
    try:
        await query.edit_message_text(
            text, parse_mode=ParseMode.HTML, reply_markup=keyboard,
            link_preview_options=NO_PREVIEW,
        )
    except BadRequest as error:
        if "not modified" not in str(error).lower():
            raise


def register(application: Application[Any, Any, Any, Any, Any, Any], ctx: BotContext) -> None:
    application.add_handler(CommandHandler("records", records_command), ctx.group)
    application.add_handler(
        CallbackQueryHandler(records_page_pressed, pattern=callbacks.PATTERNS[Action.RECORDS_PAGE]), ctx.group
    )
    ctx.commands.append("records")


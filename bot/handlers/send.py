"""/hongbao and /fixed: parse what was typed, then show the draft (docs/rules.md §2).

``/hongbao TOTAL COUNT [greeting]`` — lucky; ``/fixed EACH COUNT [greeting]`` —
fixed; ``/hongbao AMOUNT [greeting]`` in reply to a member, or with an
@username or a text mention — personal. Nothing is debited here: the draft's
Send button does that (or this handler, for totals under ``DRAFT_SKIP_BELOW``).
"""

from __future__ import annotations

import logging

from telegram import Chat, InlineKeyboardMarkup, Message, MessageEntity, Update, User
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import Application, CommandHandler, ContextTypes

from core.eligibility import Refused, clean_phrase
from core.errors import DomainError, InsufficientFunds
from core.drafts import Draft, DraftStatus
from core.money import parse_amount, parse_count
from core.packets import Kind, Member, Packet, PacketRequest, validate_request
from core.views import packet_view
from storage.sqlite.chats import member_by_username

from bot.app import BotContext, bot_context
from bot.handlers.common import apologize_in, guarded, member_of
from bot.keyboards import draft_keyboard, packet_keyboard
from bot.render import draft_text, packet_text, short_of_money
from bot.retry import post
from bot.short_lived import reply_briefly

_log = logging.getLogger(__name__)


def error_html(ctx: BotContext, lang: str, error: DomainError) -> str:
    return ctx.html(lang, error.key, **error.params)


# Refusals about how the command was typed: the reply also shows how to type it.
_SYNTAX_ERRORS = frozenset({
    "error.amount_missing", "error.amount_separator", "error.amount_format",
    "error.amount_decimals", "error.count_format",
})


def refusal_html(ctx: BotContext, lang: str, error: DomainError, kind: Kind) -> str:
    """One reply that fixes the mistake: what is wrong, and for a typo the right syntax."""
    text = error_html(ctx, lang, error)
    if error.key in _SYNTAX_ERRORS:
        key = "ux.syntax.hongbao" if kind is Kind.LUCKY else "ux.syntax.fixed"
        text += "\n" + ctx.html(lang, key)
    return text


def error_text(ctx: BotContext, lang: str, error: DomainError) -> str:
    return ctx.text(lang, error.key, **error.params)


async def _chat_members(context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> int | None:
    """People who could take a share: Telegram's count includes bots, this bot at least."""
    try:
        count = await context.bot.get_chat_member_count(chat_id)
    except TelegramError:
        return None
    return max(count - 1, 1)


def _rest_of(message: Message) -> str:
    """The text after the command word."""
    parts = (message.text or "").split(maxsplit=1)
    return parts[1] if len(parts) > 1 else ""


def _addresses(words_before: list[str]) -> bool:
    """Whether a mention after these words names the addressee: ``AMOUNT @user``, or
    ``AMOUNT COUNT @user`` (refused later: a personal packet has one share)."""
    if len(words_before) == 1:
        return True
    if len(words_before) != 2:
        return False
    return _is_count(words_before[1])


async def _recipient(
    ctx: BotContext, message: Message, sender: User, bot_username: str
) -> tuple[Member | None, str | None]:
    """The addressee of a personal packet and the mention text to drop, if any."""
    mentions = message.parse_entities([MessageEntity.MENTION, MessageEntity.TEXT_MENTION])
    for entity, text in sorted(mentions.items(), key=lambda item: item[0].offset):
        if not _addresses(_rest_of(message).partition(text)[0].split()):
            continue  # "/hongbao 10 3 thanks @bob": a mention inside the greeting
        if entity.type == MessageEntity.TEXT_MENTION and entity.user is not None:
            if entity.user.is_bot:
                raise DomainError("error.bot_recipient")
            return member_of(entity.user), text
        if entity.type == MessageEntity.MENTION:
            if text.removeprefix("@").lower() == bot_username.lower():
                raise DomainError("error.bot_recipient")
            found = await member_by_username(ctx.store, text)
            if found is None:
                raise DomainError("error.unknown_member", username=text)
            return found, text
    author = _replied_author(message)
    if author is not None and not author.is_bot and author.id != sender.id:
        return member_of(author), None
    return None, None


def _replied_author(message: Message) -> User | None:
    """Who wrote the message this command replies to, if it replies to one."""
    replied = message.reply_to_message
    if replied is not None and message.is_topic_message and (
        replied.message_id == message.message_thread_id
    ):
        return None  # in a forum topic every message "replies" to the topic's first one
    return replied.from_user if replied is not None else None


def _is_count(word: str) -> bool:
    try:
        parse_count(word, maximum=10**9)
    except DomainError:
        return False
    return True


def _refuse_reply_target(message: Message, sender: User, words: list[str]) -> None:
    """``/hongbao 1 thanks`` replying to a bot or to oneself asks for a personal packet
    nobody can get: say that, rather than that "thanks" is no count."""
    if len(words) >= 2 and _is_count(words[1]):
        return  # "/hongbao 10 5" under any message is a lucky packet
    author = _replied_author(message)
    if author is not None and author.is_bot:
        raise DomainError("error.bot_recipient")
    if author is not None and author.id == sender.id:
        raise DomainError("error.personal_self")


async def parse_request(
    ctx: BotContext, context: ContextTypes.DEFAULT_TYPE, message: Message, chat: Chat,
    sender: User, kind: Kind, *, password: bool = False,
) -> PacketRequest:
    """What the command asks for; raises ``DomainError`` naming what is allowed."""
    limits = ctx.packets.limits
    recipient, mention = (
        await _recipient(ctx, message, sender, context.bot.username)
        if kind is Kind.LUCKY and not password else (None, None)
    )
    rest = _rest_of(message)
    before_mention = ""
    if mention is not None:
        before_mention, _, after = rest.partition(mention)
        rest = f"{before_mention} {after}"
    words = rest.split()
    usage = "usage.hongbao" if kind is Kind.LUCKY else "usage.fixed"
    if kind is Kind.LUCKY and recipient is None and words:
        _refuse_reply_target(message, sender, words)
    if not words:
        raise DomainError(usage)
    who = member_of(sender)
    if recipient is not None:
        amount = parse_amount(words[0], maximum=limits.max_total)
        count, greeting_words = 1, words[1:]
        if len(before_mention.split()) >= 2:  # "/hongbao 10 5 @bob": a count was given
            count, greeting_words = parse_count(words[1], maximum=limits.max_count), words[2:]
        return PacketRequest(
            chat_id=chat.id, sender=who, kind=Kind.FIXED, count=count, amount=amount,
            greeting=" ".join(greeting_words), recipient=recipient,
        )
    if password:  # /password TOTAL COUNT PHRASE: the rest is the phrase, no greeting
        members = await _chat_members(context, chat.id)
        return _password_request(ctx, chat, who, words, members)
    if len(words) < 2:
        raise DomainError(usage)
    amount = parse_amount(words[0], maximum=limits.max_total)
    count = parse_count(words[1], maximum=limits.max_count)
    return PacketRequest(
        chat_id=chat.id, sender=who, kind=kind, count=count, amount=amount,
        greeting=" ".join(words[2:]), chat_members=await _chat_members(context, chat.id),
    )


def _password_request(
    ctx: BotContext, chat: Chat, who: Member, words: list[str], members: int | None
) -> PacketRequest:
    if len(words) < 3:
        raise DomainError("usage.password")
    limits = ctx.packets.limits
    return PacketRequest(
        chat_id=chat.id, sender=who, kind=Kind.LUCKY,
        amount=parse_amount(words[0], maximum=limits.max_total),
        count=parse_count(words[1], maximum=limits.max_count),
        phrase=clean_phrase(" ".join(words[2:])), chat_members=members,
    )


async def refuse_by_chat_rules(ctx: BotContext, request: PacketRequest) -> None:
    """Raise ``Refused`` if the chat's rules forbid this send (core.eligibility)."""
    eligibility = ctx.engine.eligibility if ctx.engine is not None else None
    if eligibility is None:
        return
    refusal = await eligibility.refuse_send(
        request.chat_id, request.sender.id, request.total,
        personal=request.recipient is not None,
    )
    if refusal is not None:
        raise Refused(refusal)


def draft_from(request: PacketRequest, command: Message, lang: str, now_ms: int) -> Draft:
    return Draft(
        chat_id=request.chat_id, command_message_id=command.message_id, message_id=None,
        sender=request.sender, kind=request.kind, amount=request.amount, count=request.count,
        greeting=request.greeting, recipient=request.recipient,
        chat_members=request.chat_members, lang=lang, created_at=now_ms, phrase=request.phrase,
    )


def send_key(chat_id: int, message_id: int) -> str:
    """Idempotency key of a send: the same Telegram facts on a replay or a double tap."""
    return f"send:{chat_id}:{message_id}"


async def render_packet_message(
    ctx: BotContext, packet: Packet, lang: str
) -> tuple[str, InlineKeyboardMarkup]:
    view = packet_view(packet, [], None, ctx.clock.now_ms())
    text = packet_text(ctx, view, lang, public=True)
    return text, packet_keyboard(ctx, packet, lang, ctx.bot_username, live=not view.is_over)


async def insufficient_note(ctx: BotContext, lang: str, error: InsufficientFunds) -> str:
    return short_of_money(ctx, lang, error.balance, error.needed)


async def _command(
    update: Update, context: ContextTypes.DEFAULT_TYPE, kind: Kind, *, password: bool = False
) -> None:
    ctx = bot_context(context)
    await ctx.ready()
    message, chat, user = update.effective_message, update.effective_chat, update.effective_user
    if message is None or chat is None or user is None or user.is_bot:
        return
    lang = await ctx.lang_of(chat.id, user.language_code)
    if chat.type not in (ChatType.GROUP, ChatType.SUPERGROUP):
        await reply_briefly(ctx, message, ctx.html(lang, "error.group_only"))
        return
    try:
        request = await parse_request(ctx, context, message, chat, user, kind, password=password)
        validate_request(request, ctx.packets.limits)
        if await ctx.drafts.by_command(chat.id, message.message_id) is None:  # not a replay
            await refuse_by_chat_rules(ctx, request)  # shown now; Send checks again
    except DomainError as error:
        await reply_briefly(ctx, message, refusal_html(ctx, lang, error, kind))
        return
    draft = draft_from(request, message, lang, ctx.clock.now_ms())
    if not await ctx.drafts.create(draft):  # the same command delivered again
        existing = await ctx.drafts.by_command(chat.id, message.message_id)
        if existing is None or existing.message_id is not None:
            return  # its draft or packet is in the chat already
        draft = existing  # the first delivery stopped before posting: finish its work
    rules = await ctx.chats.rules(chat.id)
    skip_below = (
        ctx.settings.draft_skip_below if rules.draft_skip_below is None else rules.draft_skip_below
    )
    if skip_below and request.total < skip_below:
        await _send_without_draft(ctx, message, draft, lang)
        return
    balance = await ctx.store.balance(user.id)
    sent = await post(
        lambda: message.reply_html(
            draft_text(ctx, draft, lang, balance=balance),
            reply_markup=draft_keyboard(ctx, draft, lang, balance=balance),
        ),
        f"posting the draft of command {message.message_id} in {chat.id}",
    )
    if sent is None:  # a redelivered command posts it again; its buttons work either way
        await apologize_in(ctx, message, lang)
        return
    await ctx.drafts.attach_message(chat.id, message.message_id, sent.message_id)


async def _send_without_draft(ctx: BotContext, command: Message, draft: Draft, lang: str) -> None:
    """Small amounts (``DRAFT_SKIP_BELOW``): debit and post the packet at once."""
    try:
        rules = await ctx.chats.rules(draft.chat_id)
        packet = await ctx.packets.send(
            draft.request, send_key(draft.chat_id, command.message_id),
            lucky_rule=rules.lucky_rule,
        )
    except InsufficientFunds as error:
        await ctx.drafts.close(draft, DraftStatus.CANCELLED)
        await command.reply_html(await insufficient_note(ctx, lang, error))
        return
    except DomainError as error:
        await ctx.drafts.close(draft, DraftStatus.CANCELLED)
        await command.reply_html(error_html(ctx, lang, error))
        return
    await ctx.drafts.close(draft, DraftStatus.SENT, packet.id)
    ctx.remember_packet_lang(packet.id, lang)
    text, markup = await render_packet_message(ctx, packet, lang)
    posted = await post(
        lambda: command.reply_html(text, reply_markup=markup),
        f"posting packet {packet.id} in {draft.chat_id}",
    )
    if posted is None:  # a redelivered command posts it again; its Open works either way
        await apologize_in(ctx, command, lang)
        return
    await ctx.editor.posted(
        packet, posted.chat_id, posted.message_id, posted_at_ms=ctx.clock.now_ms()
    )
    await ctx.drafts.attach_message(draft.chat_id, command.message_id, posted.message_id)
    if packet.is_personal:  # the new message mentions them; a direct message too
        ctx.spawn(ctx.notifier.personal(packet, posted.message_id, ping=False))


async def password_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``/password TOTAL COUNT PHRASE``: a lucky packet with a phrase (bot.handlers.password)."""
    await _command(update, context, Kind.LUCKY, password=True)


@guarded
async def hongbao(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _command(update, context, Kind.LUCKY)


@guarded
async def fixed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _command(update, context, Kind.FIXED)


def register(application: Application, ctx: BotContext) -> None:  # type: ignore[type-arg]
    application.add_handler(CommandHandler(["hongbao", "hb"], hongbao), group=ctx.group)
    application.add_handler(CommandHandler("fixed", fixed), group=ctx.group)
    ctx.commands.extend(["hongbao", "fixed"])

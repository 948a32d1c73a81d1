"""/settings: a chat's own lucky split rule and draft-skip amount (SPEC §2, §4).

Chat admins (and bot admins) choose; ``default`` returns a choice to the
deployment's ``.env``. Everyone may look.
"""

from __future__ import annotations

from dataclasses import replace

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import Application, CommandHandler, ContextTypes

from core.allocation import Rule
from core.errors import DomainError
from core.money import Amount, parse_amount
from storage.sqlite.chats import ChatRules

from bot.admins import is_admin
from bot.app import BotContext, bot_context
from bot.handlers.common import guarded
from bot.handlers.send import error_html

RULE_WORDS = {"double": Rule.DOUBLE_MEAN, "double_mean": Rule.DOUBLE_MEAN, "segment": Rule.SEGMENT}
DEFAULT_WORDS = frozenset({"default", "reset"})
OFF_WORDS = frozenset({"off", "0", "never"})


def describe(ctx: BotContext, lang: str, rules: ChatRules) -> str:
    rule = rules.lucky_rule or Rule(ctx.settings.lucky_rule)
    skip = (ctx.settings.draft_skip_below if rules.draft_skip_below is None
            else rules.draft_skip_below)
    lines = [
        ctx.html(lang, "settings.title"),
        ctx.html(lang, "settings.rule", rule=ctx.text(lang, f"settings.rule.{rule.value}")),
        ctx.html(lang, "settings.skip", amount=Amount(skip)) if skip
        else ctx.html(lang, "settings.skip_never"),
        ctx.html(lang, "settings.usage"),
    ]
    return "\n".join(lines)


def changed(args: list[str], rules: ChatRules) -> ChatRules:
    """The rules after ``/settings rule …`` or ``/settings skip …``; DomainError if unclear."""
    if len(args) != 2:
        raise DomainError("settings.usage")
    what, value = args[0].lower(), args[1].lower()
    if what == "rule":
        if value in DEFAULT_WORDS:
            return replace(rules, lucky_rule=None)
        if value not in RULE_WORDS:
            raise DomainError("settings.usage")
        return replace(rules, lucky_rule=RULE_WORDS[value])
    if what == "skip":
        if value in DEFAULT_WORDS:
            return replace(rules, draft_skip_below=None)
        if value in OFF_WORDS:
            return replace(rules, draft_skip_below=0)
        return replace(rules, draft_skip_below=parse_amount(value))
    raise DomainError("settings.usage")


@guarded
async def settings_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    ctx = bot_context(context)
    await ctx.ready()
    message, chat, user = update.effective_message, update.effective_chat, update.effective_user
    if message is None or chat is None or user is None or ctx.chats is None:
        return
    lang = await ctx.lang_of(chat.id, user.language_code)
    if chat.type not in (ChatType.GROUP, ChatType.SUPERGROUP):
        await message.reply_html(ctx.html(lang, "ux.settings.group_only"))
        return
    rules = await ctx.chats.rules(chat.id)
    args = list(context.args or [])
    if not args:
        await message.reply_html(describe(ctx, lang, rules))
        return
    if not await is_admin(context.bot, chat.id, user.id, ctx.settings.bot_admin_ids):
        await message.reply_html(ctx.html(lang, "settings.admins_only"))
        return
    try:
        new = changed(args, rules)
    except DomainError as error:
        await message.reply_html(error_html(ctx, lang, error))
        return
    await ctx.chats.set_rules(chat.id, new, ctx.clock.now_ms())
    await message.reply_html(describe(ctx, lang, new))


def register(application: Application, ctx: BotContext) -> None:  # type: ignore[type-arg]
    application.add_handler(CommandHandler("settings", settings_command), group=ctx.group)
    ctx.commands.append("settings")

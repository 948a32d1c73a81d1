"""/settings: a chat's own lucky split rule and draft-skip amount (docs/rules.md §2, §4), and
who may open (docs/rules.md §12): newcomers, Premium only, the daily sending limit,
personal packets; the view lists blocked members too.

Chat admins (and bot admins) choose; ``default`` returns a choice to the
deployment's ``.env``. Everyone may look.
"""

from __future__ import annotations

import html
from dataclasses import replace

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import Application, CommandHandler, ContextTypes

from core.allocation import Rule
from core.eligibility import MAX_NEWCOMER_HOURS, ChatRules as WhoMayOpen, RuleChoices
from core.errors import DomainError
from core.amount import Amount
from core.chats import ChatRules
from core.money import parse_amount, parse_count
from core.packets import Member

from bot.admins import is_admin
from bot.app import BotContext, Markup, bot_context
from bot.handlers.common import guarded
from bot.handlers.send import error_html

RULE_WORDS = {"double": Rule.DOUBLE_MEAN, "double_mean": Rule.DOUBLE_MEAN, "segment": Rule.SEGMENT}
DEFAULT_WORDS = frozenset({"default", "reset"})
OFF_WORDS = frozenset({"off", "0", "never"})
ON_WORDS = frozenset({"on", "yes", "true", "1"})
FLAG_OFF_WORDS = frozenset({"off", "no", "false", "0"})
WHO_MAY_OPEN = frozenset({"newcomers", "newcomer", "premium", "daily", "personal"})
BLOCKED_SHOWN = 30


def describe_who_may_open(
    ctx: BotContext, lang: str, rules: WhoMayOpen, blocked: list[Member]
) -> list[str]:
    """Every rule of who may open, in plain words."""
    lines = [
        ctx.html(lang, "rules.settings.newcomers", hours=rules.newcomer_hours)
        if rules.newcomer_hours else ctx.html(lang, "rules.settings.newcomers_off"),
        ctx.html(lang, "rules.settings.premium_on" if rules.premium_only
                 else "rules.settings.premium_off"),
        ctx.html(lang, "rules.settings.daily", amount=Amount(rules.daily_limit))
        if rules.daily_limit else ctx.html(lang, "rules.settings.daily_off"),
        ctx.html(lang, "rules.settings.personal_on" if rules.personal
                 else "rules.settings.personal_off"),
        ctx.html(lang, "rules.settings.bots"),
    ]
    if not blocked:
        lines.append(ctx.html(lang, "rules.settings.blocked_none"))
        return lines
    names = ", ".join(html.escape(m.name, quote=False) for m in blocked[:BLOCKED_SHOWN])
    if len(blocked) > BLOCKED_SHOWN:
        names += " " + ctx.html(lang, "rules.settings.blocked_more", n=len(blocked) - BLOCKED_SHOWN)
    lines.append(ctx.html(lang, "rules.settings.blocked", n=len(blocked), names=Markup(names)))
    return lines


def changed_choices(args: list[str], choices: RuleChoices) -> RuleChoices:
    """The choices after ``/settings newcomers|premium|daily|personal …``."""
    if len(args) != 2:
        raise DomainError("rules.settings.usage")
    what, value = args[0].lower(), args[1].lower()
    default = value in DEFAULT_WORDS
    if what in ("newcomers", "newcomer"):
        if default:
            return replace(choices, newcomer_hours=None)
        if value in OFF_WORDS:
            return replace(choices, newcomer_hours=0)
        return replace(choices, newcomer_hours=_hours(value))
    if what == "daily":
        if default:
            return replace(choices, daily_limit=None)
        if value in OFF_WORDS:
            return replace(choices, daily_limit=0)
        return replace(choices, daily_limit=parse_amount(value))
    flag = None if default else _flag(value)
    if what == "premium":
        return replace(choices, premium_only=flag)
    return replace(choices, personal=flag)


def _hours(value: str) -> int:
    try:
        return parse_count(value.removesuffix("h"), maximum=MAX_NEWCOMER_HOURS)
    except DomainError:
        raise DomainError("rules.settings.hours", maximum=MAX_NEWCOMER_HOURS) from None


def _flag(value: str) -> bool:
    if value in ON_WORDS:
        return True
    if value in FLAG_OFF_WORDS:
        return False
    raise DomainError("rules.settings.usage")


def describe(
    ctx: BotContext, lang: str, rules: ChatRules,
    who: tuple[WhoMayOpen, list[Member]] | None = None,
) -> str:
    rule = rules.lucky_rule or Rule(ctx.settings.lucky_rule)
    skip = (ctx.settings.draft_skip_below if rules.draft_skip_below is None
            else rules.draft_skip_below)
    lines = [
        ctx.html(lang, "settings.title"),
        ctx.html(lang, "settings.rule", rule=ctx.text(lang, f"settings.rule.{rule.value}")),
        ctx.html(lang, "settings.skip", amount=Amount(skip)) if skip
        else ctx.html(lang, "settings.skip_never"),
    ]
    if who is not None:
        lines.extend(describe_who_may_open(ctx, lang, *who))
    lines.append(ctx.html(lang, "settings.usage"))
    if who is not None:
        lines.append(ctx.html(lang, "rules.settings.usage"))
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
        await message.reply_html(describe(ctx, lang, rules, await _who_may_open(ctx, chat.id)))
        return
    if not await is_admin(context.bot, chat.id, user.id, ctx.settings.bot_admin_ids):
        await message.reply_html(ctx.html(lang, "settings.admins_only"))
        return
    eligibility = ctx.engine.eligibility if ctx.engine is not None else None
    try:
        if args[0].lower() in WHO_MAY_OPEN and eligibility is not None:
            choices = changed_choices(args, await eligibility.store.rule_choices(chat.id))
            await eligibility.set_choices(chat.id, choices)
            new = rules
        else:
            new = changed(args, rules)
            await ctx.chats.set_rules(chat.id, new, ctx.clock.now_ms())
    except DomainError as error:
        await message.reply_html(error_html(ctx, lang, error))
        return
    await message.reply_html(describe(ctx, lang, new, await _who_may_open(ctx, chat.id)))


async def _who_may_open(ctx: BotContext, chat_id: int) -> tuple[WhoMayOpen, list[Member]] | None:
    engine = ctx.engine
    if engine is None or engine.eligibility is None or engine.standing is None:
        return None
    return await engine.eligibility.rules(chat_id), await engine.standing.blocked_members(chat_id)


def register(application: Application, ctx: BotContext) -> None:  # type: ignore[type-arg]
    application.add_handler(CommandHandler("settings", settings_command), group=ctx.group)
    ctx.commands.append("settings")

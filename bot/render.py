"""HTML text of packet messages, result views and drafts (docs/rules.md §2, §5).

``core.views.packet_view`` decides what a viewer sees; this module only words
it. Every piece of user text (names, greetings) goes through ``html.escape``
via ``BotContext.html``; lines we join ourselves escape explicitly.
"""

from __future__ import annotations

import html

from core.amount import Amount
from core.drafts import Draft
from core.errors import InsufficientFunds
from core.packets import Kind, Packet, Share, clip_text
from core.records import format_duration
from core.views import PacketView, Summary

from bot.app import BotContext, Markup

MESSAGE_LIMIT = 4096
PUBLIC_LIST_LIMIT = 20
PRIVATE_LIST_LIMIT = 100


def duration(ctx: BotContext, lang: str, ms: int) -> str:
    """``0.4 s``, ``12 s``, ``3 min 5 s``, ``2 h 3 min``, ``1 d 4 h`` (``core.records.format_duration``)."""
    key, params = format_duration(ms)
    return ctx.text(lang, key, **params)


def title(ctx: BotContext, packet: Packet, lang: str) -> str:
    if packet.is_personal:
        return ctx.html(
            lang, "packet.title_personal",
            sender=packet.sender_name, recipient=Markup(mention(packet.recipient_id,
                                                                packet.recipient_name)),
        )
    key = "packet.title_lucky" if packet.kind is Kind.LUCKY else "packet.title_fixed"
    return ctx.html(lang, key, sender=packet.sender_name)


def mention(user_id: int | None, name: str | None) -> str:
    """A name that notifies its member: a ``text_mention`` by id (no @username needed)."""
    shown = html.escape(name or "", quote=False)
    return f'<a href="tg://user?id={int(user_id)}">{shown}</a>' if user_id else shown


def greeting(ctx: BotContext, text: str, lang: str) -> str:
    shown = text or ctx.text(lang, "packet.default_greeting")
    return f"<i>{html.escape(shown, quote=False)}</i>"


def summary(ctx: BotContext, view: PacketView, lang: str) -> str:
    packet = view.packet
    shown = _without_missing_name(view.summary, packet)
    key = f"summary.{shown.value}"
    taken = duration(ctx, lang, view.duration_ms) if view.duration_ms is not None else ""
    refund = packet.refunded if packet.refunded else packet.total - view.claimed
    params = {
        Summary.FINISHED_LUCKY_SENDER: dict(n=view.count, total=Amount(view.total), duration=taken),
        Summary.FINISHED_LUCKY: dict(n=view.count, duration=taken),
        Summary.FINISHED_FIXED: dict(n=view.count, total=Amount(view.total)),
        Summary.PROGRESS_SENDER: dict(
            x=view.taken, y=view.count, a=Amount(view.claimed), b=Amount(view.total)
        ),
        Summary.PROGRESS: dict(x=view.taken, y=view.count),
        Summary.WAITING_SENDER: dict(amount=Amount(view.total), name=packet.recipient_name or ""),
        Summary.WAITING: dict(name=packet.recipient_name or ""),
        Summary.EXPIRED_SENDER: dict(x=view.taken, y=view.count, refund=Amount(refund)),
        Summary.EXPIRED: dict(x=view.taken, y=view.count),
    }[shown]
    return ctx.html(lang, key, **params)


def _without_missing_name(shown: Summary, packet: Packet) -> Summary:
    """A count-1 packet for nobody in particular has no name to wait for: show progress."""
    if packet.recipient_name:
        return shown
    return {
        Summary.WAITING_SENDER: Summary.PROGRESS_SENDER, Summary.WAITING: Summary.PROGRESS,
    }.get(shown, shown)


def share_line(ctx: BotContext, packet: Packet, share: Share, lang: str, best: bool) -> str:
    crown = "👑 " if best else ""
    after = duration(ctx, lang, share.taken_at - packet.created_at)
    name = html.escape(share.member_name, quote=False)
    return f"{crown}{name} · {ctx.money(share.amount)} · {after}"


def packet_text(
    ctx: BotContext, view: PacketView, lang: str, *, public: bool, reserve: int = 0
) -> str:
    """The group message (``public``) or a member's private result view.

    ``reserve``: characters the caller appends, kept free of the message limit.
    """
    packet = view.packet
    lines = [title(ctx, packet, lang), greeting(ctx, packet.greeting, lang)]
    if packet.phrase and not view.is_over:  # a password packet (bot.handlers.password)
        lines.append(ctx.html(lang, "rules.packet_phrase", phrase=packet.phrase))
    if view.viewer_share is not None and not public:
        key = "ux.packet.your_share_personal" if packet.is_personal else "packet.your_share"
        lines.append(ctx.html(lang, key, amount=Amount(view.viewer_share.amount)))
    lines.append("")
    lines.append(summary(ctx, view, lang))
    if view.best_luck is not None:
        best = view.best_luck
        lines.append(ctx.html(lang, "packet.best_luck", name=best.member_name,
                              amount=Amount(best.amount)))
    if view.shares:
        limit = PUBLIC_LIST_LIMIT if public else PRIVATE_LIST_LIMIT
        best_position = view.best_luck.position if view.best_luck else None
        listed = [
            share_line(ctx, packet, s, lang, s.position == best_position)
            for s in view.shares[:limit]
        ]
        hidden = len(view.shares) - len(listed)
        lines.append("")
        lines.extend(listed)
        while listed and len("\n".join(lines)) > MESSAGE_LIMIT - 40 - reserve:
            lines.pop()
            listed.pop()
            hidden += 1
        if hidden:
            lines.append(ctx.html(lang, "packet.more_shares", n=hidden))
    return "\n".join(lines)


def draft_text(
    ctx: BotContext, draft: Draft, lang: str, *, balance: int | None = None,
    was_total: int | None = None, note: str | None = None,
) -> str:
    """The draft shown to the sender before money moves."""
    if draft.recipient is not None:
        head = ctx.html(lang, "draft.title_personal", total=Amount(draft.total),
                        name=draft.recipient.name)
    elif draft.kind is Kind.LUCKY:
        head = ctx.html(lang, "draft.title_lucky", total=Amount(draft.total), count=draft.count)
    else:
        head = ctx.html(lang, "draft.title_fixed", each=Amount(draft.amount), count=draft.count,
                        total=Amount(draft.total))
    # Shown as the packet will carry it: clipped to the greeting limit.
    shown = clip_text(draft.greeting, ctx.packets.limits.greeting_chars)
    lines = [head, greeting(ctx, shown, lang)]
    if draft.phrase:
        lines.append(ctx.html(lang, "rules.draft_phrase", phrase=draft.phrase))
    if draft.total_changed and was_total is not None:
        lines.append(ctx.html(lang, "draft.total_changed", each=Amount(draft.amount),
                              total=Amount(draft.total), was=Amount(was_total)))
    if note is None and balance is not None and balance < draft.total:
        note = short_of_money(ctx, lang, balance, draft.total)
    if note:
        lines.append(note)  # the note says the balance already
    elif balance is not None:
        lines.append(ctx.html(lang, "draft.balance", balance=Amount(balance)))
    if balance is None or balance >= draft.total:  # else there is no Send to press
        lines.append(ctx.html(lang, "draft.hint", name=draft.sender.name))
    return "\n".join(lines)


def short_of_money(ctx: BotContext, lang: str, balance: int, needed: int) -> str:
    """Not enough balance, and the ways money comes in."""
    from bot.handlers.wallet import how_to_get_more  # a handler module: import when needed

    error = InsufficientFunds(balance, needed)
    return ctx.html(lang, error.key, **error.params) + "\n" + how_to_get_more(ctx, lang)

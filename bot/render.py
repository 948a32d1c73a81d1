"""HTML text of packet messages, result views and drafts (docs/rules.md §2, §5).

``core.views.packet_view`` decides what a viewer sees; this module only words
it. Every piece of user text (names, greetings) goes through ``html.escape``
via ``Words.html``; lines we join ourselves escape explicitly.
"""

from __future__ import annotations

import html

from core.amount import Amount
from core.drafts import Draft
from core.errors import InsufficientFunds
from core.packets import Kind, Packet, Share, clip_text
from core.records import format_duration
from core.views import PacketView, Summary

from bot.settings import Settings
from bot.words import Markup, Words

MESSAGE_LIMIT = 4096
PUBLIC_LIST_LIMIT = 20
PRIVATE_LIST_LIMIT = 100


def duration(words: Words, lang: str, ms: int) -> str:
    """``0.4 s``, ``12 s``, ``3 min 5 s``, ``2 h 3 min``, ``1 d 4 h`` (``core.records.format_duration``)."""
    key, params = format_duration(ms)
    return words.text(lang, key, **params)


def title(words: Words, packet: Packet, lang: str) -> str:
    if packet.is_personal:
        return words.html(
            lang, "packet.title_personal",
            sender=packet.sender_name, recipient=Markup(mention(packet.recipient_id,
                                                                packet.recipient_name)),
        )
    key = "packet.title_lucky" if packet.kind is Kind.LUCKY else "packet.title_fixed"
    return words.html(lang, key, sender=packet.sender_name)


def mention(user_id: int | None, name: str | None) -> str:
    """A name that notifies its member: a ``text_mention`` by id (no @username needed)."""
    shown = html.escape(name or "", quote=False)
    return f'<a href="tg://user?id={int(user_id)}">{shown}</a>' if user_id else shown


def greeting(words: Words, text: str, lang: str) -> str:
    shown = text or words.text(lang, "packet.default_greeting")
    return f"<i>{html.escape(shown, quote=False)}</i>"


def summary(words: Words, view: PacketView, lang: str) -> str:
    packet = view.packet
    shown = _without_missing_name(view.summary, packet)
    key = f"summary.{shown.value}"
    taken = duration(words, lang, view.duration_ms) if view.duration_ms is not None else ""
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
    return words.html(lang, key, **params)


def _without_missing_name(shown: Summary, packet: Packet) -> Summary:
    """A count-1 packet for nobody in particular has no name to wait for: show progress."""
    if packet.recipient_name:
        return shown
    return {
        Summary.WAITING_SENDER: Summary.PROGRESS_SENDER, Summary.WAITING: Summary.PROGRESS,
    }.get(shown, shown)


def share_line(words: Words, packet: Packet, share: Share, lang: str, best: bool) -> str:
    crown = "👑 " if best else ""
    after = duration(words, lang, share.taken_at - packet.created_at)
    name = html.escape(share.member_name, quote=False)
    return f"{crown}{name} · {words.money(share.amount)} · {after}"


def packet_text(
    words: Words, view: PacketView, lang: str, *, public: bool, reserve: int = 0
) -> str:
    """The group message (``public``) or a member's private result view.

    ``reserve``: characters the caller appends, kept free of the message limit.
    """
    packet = view.packet
    lines = [title(words, packet, lang), greeting(words, packet.greeting, lang)]
    if packet.phrase and not view.is_over:  # a password packet (bot.handlers.password)
        lines.append(words.html(lang, "rules.packet_phrase", phrase=packet.phrase))
    if view.viewer_share is not None and not public:
        key = "ux.packet.your_share_personal" if packet.is_personal else "packet.your_share"
        lines.append(words.html(lang, key, amount=Amount(view.viewer_share.amount)))
    lines.append("")
    lines.append(summary(words, view, lang))
    if view.best_luck is not None:
        best = view.best_luck
        lines.append(words.html(lang, "packet.best_luck", name=best.member_name,
                              amount=Amount(best.amount)))
    if view.shares:
        limit = PUBLIC_LIST_LIMIT if public else PRIVATE_LIST_LIMIT
        best_position = view.best_luck.position if view.best_luck else None
        listed = [
            share_line(words, packet, s, lang, s.position == best_position)
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
            lines.append(words.html(lang, "packet.more_shares", n=hidden))
    return "\n".join(lines)


def draft_text(
    words: Words, settings: Settings, draft: Draft, lang: str, *, greeting_chars: int,
    balance: int | None = None, was_total: int | None = None, note: str | None = None,
) -> str:
    """The draft shown to the sender before money moves."""
    if draft.recipient is not None:
        head = words.html(lang, "draft.title_personal", total=Amount(draft.total),
                        name=draft.recipient.name)
    elif draft.kind is Kind.LUCKY:
        head = words.html(lang, "draft.title_lucky", total=Amount(draft.total), count=draft.count)
    else:
        head = words.html(lang, "draft.title_fixed", each=Amount(draft.amount), count=draft.count,
                        total=Amount(draft.total))
    # Shown as the packet will carry it: clipped to the greeting limit.
    shown = clip_text(draft.greeting, greeting_chars)
    lines = [head, greeting(words, shown, lang)]
    if draft.phrase:
        lines.append(words.html(lang, "rules.draft_phrase", phrase=draft.phrase))
    if draft.total_changed and was_total is not None:
        lines.append(words.html(lang, "draft.total_changed", each=Amount(draft.amount),
                              total=Amount(draft.total), was=Amount(was_total)))
    if note is None and balance is not None and balance < draft.total:
        note = short_of_money(words, settings, lang, balance, draft.total)
    if note:
        lines.append(note)  # the note says the balance already
    elif balance is not None:
        lines.append(words.html(lang, "draft.balance", balance=Amount(balance)))
    if balance is None or balance >= draft.total:  # else there is no Send to press
        lines.append(words.html(lang, "draft.hint", name=draft.sender.name))
    return "\n".join(lines)


def short_of_money(words: Words, settings: Settings, lang: str, balance: int, needed: int) -> str:
    """Not enough balance, and the ways money comes in."""
    error = InsufficientFunds(balance, needed)
    return words.html(lang, error.key, **error.params) + "\n" + how_to_get_more(words, settings, lang)


def how_to_get_more(words: Words, settings: Settings, lang: str) -> str:
    """The ways money comes in, as the draft and /balance list them."""
    lines = [words.html(lang, "balance.get_more"), words.html(lang, "balance.way_packets")]
    if settings.daily_bonus > 0:
        lines.append(words.html(lang, "balance.way_daily", amount=Amount(settings.daily_bonus)))
    lines.append(words.html(lang, "balance.way_grant"))
    if settings.topup_enabled:
        lines.append(words.html(lang, "balance.way_topup"))
    return "\n".join(lines)

"""The words of a shake campaign: its message, its end, and what a shake answers
(docs/rules.md §7, §9)."""

from __future__ import annotations

import html
from datetime import UTC, datetime

from core.amount import Amount
from core.shake import JACKPOT, Campaign, CampaignStatus, Ended, prize_range
from core.shake_service import ShakeAnswer, ShakeResult

from bot.render import duration
from bot.words import Words

__all__ = ["campaign_text", "end_text", "result_text", "utc_time", "whole_seconds"]

MAX_WINNER_LINES = 30


def utc_time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")


def campaign_text(words: Words, campaign: Campaign, lang: str) -> str:
    lines = [
        words.html(lang, "shake.message.title", funder=campaign.funder_name),
        words.html(lang, "shake.message.pool", pool=Amount(campaign.pool), count=campaign.count),
        prizes_line(words, campaign, lang),
        "",
        words.html(lang, "shake.message.left", left=campaign.prizes_left, count=campaign.count),
        words.html(lang, "shake.message.ends", time=utc_time(campaign.ends_at)),
        how_to_shake(words, campaign, lang),
    ]
    return "\n".join(lines)


def prizes_line(words: Words, campaign: Campaign, lang: str) -> str:
    """Only what the pool left can pay: the allocator's own rule (``core.shake.prize_range``)."""
    shown = prize_range(campaign.mode, campaign.tiers, campaign.money_left,
                        max(campaign.prizes_left, 1))
    if shown.high is None:
        key = "ux.shake.prizes_from"
    elif shown.high == shown.low:
        key = "ux.shake.prizes_each"
    else:
        key = "ux.shake.prizes_range"
    line = words.html(lang, key, low=Amount(shown.low), high=Amount(shown.high or shown.low))
    if shown.jackpot:
        line += words.html(lang, "ux.shake.and_jackpot", jackpot=Amount(JACKPOT))
    return line


def how_to_shake(words: Words, campaign: Campaign, lang: str) -> str:
    seconds = whole_seconds(campaign.interval_ms)
    if seconds <= 0:  # no cooldown configured: "every 0 s" reads like a bug
        return words.html(lang, "shake.message.how_any")
    return words.html(lang, "shake.message.how", wait=duration(words, lang, seconds * 1000))


def end_text(words: Words, ended: Ended, lang: str) -> str:
    campaign = ended.campaign
    title = {
        CampaignStatus.FINISHED: "shake.end.finished",
        CampaignStatus.STOPPED: "shake.end.stopped",
    }.get(campaign.status, "shake.end.expired")
    lines = [
        words.html(lang, title),
        words.html(lang, "shake.end.summary", n=len(ended.wins), count=campaign.count,
                 amount=Amount(campaign.won_amount)),
    ]
    for win in ended.jackpots:
        lines.append(words.html(lang, "shake.end.jackpot", name=win.member_name,
                              amount=Amount(win.amount)))
    if ended.wins:
        lines += ["", words.html(lang, "shake.end.winners")]
        for win in ended.wins[:MAX_WINNER_LINES]:
            lines.append(f"{win.position}. {html.escape(win.member_name, quote=False)} — "
                         f"{words.money(win.amount)}")
        if len(ended.wins) > MAX_WINNER_LINES:
            lines.append(words.html(lang, "shake.end.more", n=len(ended.wins) - MAX_WINNER_LINES))
    else:
        lines.append(words.html(lang, "shake.end.no_winners"))
    lines += ["", words.html(lang, "shake.end.refund", amount=Amount(campaign.refunded),
                           funder=campaign.funder_name)]
    return "\n".join(lines)


def result_text(words: Words, result: ShakeResult, lang: str, *, public: bool, name: str = "") -> str:
    """What a shake answers: an alert for a button press, a reply for a typed /shake."""
    campaign = result.campaign
    interval = whole_seconds(campaign.interval_ms) if campaign else 0
    if result.answer is ShakeAnswer.WON and result.win is not None:
        amount = Amount(result.win.amount)
        if public:
            key = "shake.answer.jackpot_public" if result.win.jackpot else "shake.answer.won_public"
            return words.html(lang, key, name=name, amount=amount)
        key = "shake.answer.jackpot" if result.win.jackpot else "shake.answer.won"
        return words.text(lang, key, amount=amount)
    render = words.html if public else words.text
    if result.answer is ShakeAnswer.LOST:
        if interval <= 0:
            return render(lang, "shake.answer.lost_now")
        return render(lang, "shake.answer.lost", wait=duration(words, lang, interval * 1000))
    if result.answer is ShakeAnswer.COOLDOWN:
        wait = max(1, -(-result.wait_ms // 1000)) * 1000  # whole seconds, rounded up
        return render(lang, "shake.answer.cooldown", wait=duration(words, lang, wait))
    if result.answer is ShakeAnswer.MAXED:
        return render(lang, "shake.answer.maxed", n=campaign.max_wins if campaign else 1)
    if result.answer is ShakeAnswer.OVER:
        return render(lang, "shake.answer.over")
    if result.answer is ShakeAnswer.NO_CAMPAIGN:
        return render(lang, "shake.none")
    if result.answer is ShakeAnswer.REFUSED and result.refusal is not None:  # a chat rule
        return render(lang, result.refusal.key, **result.refusal.params)
    return render(lang, "shake.answer.not_this_time")


def whole_seconds(ms: int) -> int:
    return -(-ms // 1000)

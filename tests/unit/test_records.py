"""Pure parts of wallets and insight: plain words, daily keys, top-up payloads, stats."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.charts import PNG_SIGNATURE, render_stats_chart
from bot.payments import parse_topup_payload, topup_acceptable, topup_payload
from core.records import (
    DayActivity,
    StatsFacts,
    WalletLine,
    clamp_page,
    daily_key,
    describe,
    format_duration,
    next_utc_midnight_ms,
    page_count,
    share_ratio_histogram,
    summarize,
)


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


@pytest.mark.parametrize(
    ("line", "key", "params"),
    [
        (WalletLine(1, "share", 235, "p1", "", "lucky", "Alice", None),
         "wallet.line.share_lucky", {"name": "Alice"}),
        (WalletLine(1, "share", 100, "p1", "", "fixed", "Bob", None),
         "wallet.line.share_fixed", {"name": "Bob"}),
        (WalletLine(1, "share", 500, "p1", "", "fixed", "Bob", "Carol"),
         "wallet.line.share_personal", {"name": "Bob"}),
        (WalletLine(1, "send", -1000, "p1", "", "lucky", "Me", None), "wallet.line.send_lucky", {}),
        (WalletLine(1, "send", -1000, "p1", "", "fixed", "Me", None), "wallet.line.send_fixed", {}),
        (WalletLine(1, "send", -500, "p1", "", "fixed", "Me", "Carol"),
         "wallet.line.send_personal", {"name": "Carol"}),
        (WalletLine(1, "refund", 300, "p1"), "wallet.line.refund", {}),
        (WalletLine(1, "welcome", 10000), "wallet.line.welcome", {}),
        (WalletLine(1, "daily", 1000), "wallet.line.daily", {}),
        (WalletLine(1, "grant", 1000, None, "granted by Root (1)"), "wallet.line.grant", {}),
        (WalletLine(1, "topup", 50), "wallet.line.topup", {}),
        (WalletLine(1, "shake_fund", -5000), "wallet.line.campaign_fund", {}),
        (WalletLine(1, "shake_win", 50), "wallet.line.campaign_win", {}),
        (WalletLine(1, "shake_refund", 450), "wallet.line.campaign_refund", {}),
        (WalletLine(1, "mystery", 1), "wallet.line.other", {"kind": "mystery"}),
    ],
)
def test_ledger_lines_in_plain_words(line: WalletLine, key: str, params: dict[str, str]) -> None:
    entry = describe(line)
    assert (entry.key, entry.params, entry.amount, entry.at) == (key, params, line.amount, 1)


def test_daily_key_is_per_member_and_utc_day() -> None:
    assert daily_key(7, ms("2025-02-03T23:59:59")) == "daily:7:2025-02-03"
    assert daily_key(7, ms("2025-02-04T00:00:00")) == "daily:7:2025-02-04"
    assert next_utc_midnight_ms(ms("2025-02-03T10:00:00")) == ms("2025-02-04T00:00:00")


def test_topup_payload_round_trip_and_refusals() -> None:
    payload = topup_payload(42, 100)
    claim = parse_topup_payload(payload)
    assert claim is not None and (claim.member_id, claim.stars) == (42, 100)
    for bad in ("", "topup:42", "topup:x:1", "topup:42:0", "topup:42:-1", "other:42:1",
                "topup:42:99999999", "topup:４２:1"):
        assert parse_topup_payload(bad) is None, bad
    assert topup_acceptable(payload, currency="XTR", total_amount=100, payer_id=42)
    assert not topup_acceptable(payload, currency="XTR", total_amount=99, payer_id=42)
    assert not topup_acceptable(payload, currency="USD", total_amount=100, payer_id=42)
    assert not topup_acceptable(payload, currency="XTR", total_amount=100, payer_id=43)
    assert not topup_acceptable("forged", currency="XTR", total_amount=100, payer_id=42)


def test_pages() -> None:
    assert page_count(0) == 1 and page_count(5) == 1 and page_count(6) == 2
    assert clamp_page(9, 6) == 1 and clamp_page(-3, 6) == 0


def facts(durations: list[int]) -> StatsFacts:
    return StatsFacts(
        chat_id=None, packets=len(durations), money_sent=0, shares=0, money_taken=0,
        finish_durations_ms=durations, top_senders=[], luckiest=[], turned_away=0, activity=[],
    )


def test_median_and_fastest_finish() -> None:
    stats = summarize(facts([9000, 1000, 4000]))
    assert (stats.finished, stats.median_finish_ms, stats.fastest_finish_ms) == (3, 4000, 1000)
    assert summarize(facts([1000, 3000])).median_finish_ms == 2000
    empty = summarize(facts([]))
    assert (empty.median_finish_ms, empty.fastest_finish_ms, empty.has_activity) == (None, None, False)


def test_share_ratio_histogram_caps_the_tail() -> None:
    assert share_ratio_histogram({5: 2, 10: 3, 31: 1, 45: 2}) == [(0.5, 2), (1.0, 3), (3.0, 3)]


def test_durations_in_words() -> None:
    assert format_duration(1500) == ("duration.seconds", {"s": "1.5"})
    assert format_duration(2000) == ("duration.seconds", {"s": "2"})
    assert format_duration(125_000) == ("duration.minutes", {"m": 2, "s": 5})
    assert format_duration(3_780_000) == ("duration.hours", {"h": 1, "m": 3})
    assert format_duration(90_000_000) == ("duration.days", {"d": 1, "h": 1})


def test_chart_is_a_png_with_and_without_data() -> None:
    activity = [DayActivity("2025-01-01", 3, 1000), DayActivity("2025-01-04", 1, 250)]
    assert render_stats_chart(activity, {8: 2, 10: 5, 17: 1}).startswith(
        PNG_SIGNATURE
    )
    assert render_stats_chart([], {}).startswith(PNG_SIGNATURE)

"""core.fairness and core.trust: the commitment, the reveal rule, the split check,
press delays, who the grabber report lists, and the week of the leaderboard."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.allocation import Rule, full_split
from core.fairness import (
    REVEAL_GRACE_MS,
    check_parameters,
    check_split,
    commitment,
    may_reveal,
    parse_seed,
    press_delay_ms,
    revealed_seed,
    short_commitment,
)
from core.packets import Kind, Packet, Share, Status
from core.trust import PressFact, SuspectThresholds, find_suspects, week_start_ms

SEED = bytes(range(16))


def packet(**changes: object) -> Packet:
    base = Packet(
        id="AAAAAAAAAA", chat_id=-1, sender_id=1, sender_name="A", kind=Kind.LUCKY,
        rule=Rule.DOUBLE_MEAN, total=1000, count=5, greeting="", created_at=0,
        expires_at=86_400_000, cap=20_000, seed=SEED,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_commitment_is_sha256_of_the_raw_seed() -> None:
    assert commitment(SEED) == hashlib.sha256(SEED).hexdigest()
    assert short_commitment(SEED) == commitment(SEED)[:16]


def test_a_live_packet_is_revealed_only_a_minute_after_its_expiry() -> None:
    live = packet()
    assert revealed_seed(live, 0) is None
    assert revealed_seed(live, live.expires_at) is None
    assert revealed_seed(live, live.expires_at + REVEAL_GRACE_MS - 1) is None
    assert revealed_seed(live, live.expires_at + REVEAL_GRACE_MS) == SEED.hex()
    for status in (Status.FINISHED, Status.EXPIRED):
        assert may_reveal(replace(live, status=status), 0)


@given(
    seed=st.binary(min_size=1, max_size=32),
    count=st.integers(1, 30),
    rule=st.sampled_from([Rule.DOUBLE_MEAN, Rule.SEGMENT]),
    data=st.data(),
)
def test_genuine_shares_agree_and_a_changed_one_is_named(
    seed: bytes, count: int, rule: Rule, data: st.DataObject
) -> None:
    cap = data.draw(st.integers(1, 500))
    total = data.draw(st.integers(count, count * cap))
    p = packet(seed=seed, count=count, total=total, cap=cap, rule=rule)
    amounts = full_split(rule, seed, total, count, cap)
    shares = [Share(p.id, i, 100 + i, "m", a, i) for i, a in enumerate(amounts, start=1)]
    assert check_split(p, shares).all_agree
    taken = data.draw(st.integers(0, count))
    assert check_split(p, shares[:taken]).all_agree  # an expired packet
    assert len(check_split(p, shares[:taken]).not_taken) == count - taken
    if taken:
        changed = data.draw(st.integers(1, taken))
        tampered = list(shares[:taken])
        tampered[changed - 1] = replace(tampered[changed - 1], amount=amounts[changed - 1] + 1)
        assert check_split(p, tampered).differing == (changed,)


def test_parameters_and_seeds_are_checked() -> None:
    assert parse_seed(" 0x00FF ") == b"\x00\xff"
    for bad in ("", "abc", "zz"):
        with pytest.raises(ValueError):
            parse_seed(bad)
    check_parameters(Rule.FIXED, 600, 3, 200)
    for rule, total, count, cap in [
        (Rule.FIXED, 601, 3, 20_000), (Rule.SEGMENT, 1, 2, 10), (Rule.DOUBLE_MEAN, 31, 3, 10),
        (Rule.DOUBLE_MEAN, 10, 0, 10),
    ]:
        with pytest.raises(ValueError):
            check_parameters(rule, total, count, cap)


def test_press_delay() -> None:
    assert press_delay_ms(1_000, 1_030) == 30
    assert press_delay_ms(1_000, 990) == 0  # before the bot knew it had posted
    assert press_delay_ms(None, 1_000) is None and press_delay_ms(1_000, None) is None


def facts(member: int, delays: list[int | None], firsts: int) -> list[PressFact]:
    return [
        PressFact(member, f"m{member}", 1 if i < firsts else 2, d) for i, d in enumerate(delays)
    ]


def test_who_the_grabber_report_lists() -> None:
    rules = SuspectThresholds(median_ms=500, first_percent=60, min_shares=5)
    report = find_suspects(
        facts(1, [40] * 5, 5)  # a script: fast and first
        + facts(2, [499, 499, 499, 3000, 3000], 0)  # median 499 ms: fast
        + facts(3, [500] * 5, 0)  # median exactly 500 ms: not listed
        + facts(4, [2000] * 5, 4)  # slow, but first in 80 %
        + facts(5, [2000] * 5, 3)  # first in exactly 60 %: not listed
        + facts(6, [10] * 4, 4)  # fast, but only 4 shares: not judged
        + facts(7, [None] * 6, 6),  # not measured, first in 100 %
        rules,
    )
    assert [m.member_id for m in report.suspects] == [1, 2, 4, 7]
    assert report.examined == 6


def test_the_week_starts_on_monday_utc() -> None:
    wednesday = int(datetime(2026, 12, 2, 15, 30, tzinfo=UTC).timestamp() * 1000)
    assert week_start_ms(wednesday) == int(datetime(2026, 11, 30, tzinfo=UTC).timestamp() * 1000)
    monday = int(datetime(2026, 11, 30, tzinfo=UTC).timestamp() * 1000)
    assert week_start_ms(monday) == monday

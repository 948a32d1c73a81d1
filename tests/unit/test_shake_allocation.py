"""Shake prizes (docs/rules.md §4, shake prizes), the win probability and the stepped figure."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.edit_budget import crosses_step
from bot.shake_command import parse_duration, parse_start
from core.errors import DomainError
from core.packets import Member
from core.shake import (
    DEFAULT_TIERS,
    JACKPOT,
    MIN_PRIZE,
    Campaign,
    Mode,
    ShakeLimits,
    Win,
    campaign_problems,
    prize,
    replay_wins,
    tiers_from_text,
    tiers_to_text,
    win_probability,
)

SEED = b"fixed-seed-for-tests"
DRAWS = 100_000
# Absolute tolerance on a tier's frequency: over 5 standard deviations at 85 %.
TOLERANCE = 0.006


def tier_of(amount: int) -> int:
    for index, tier in enumerate(DEFAULT_TIERS):
        if tier.fixed and amount == tier.low or tier.low <= amount < tier.high:
            return index
    raise AssertionError(f"{amount} is in no tier")


def test_tier_frequencies_match_the_configured_probabilities() -> None:
    rich = 10**9  # every tier, the jackpot included, is affordable
    seen = Counter(
        tier_of(prize(Mode.TIERS, DEFAULT_TIERS, SEED, k, rich, 1)[0]) for k in range(1, DRAWS + 1)
    )
    for index, tier in enumerate(DEFAULT_TIERS[:3]):
        assert abs(seen[index] / DRAWS - tier.weight / 10_000) < TOLERANCE, (index, seen)
    # 0.01 % of 100 000 is 10 jackpots; 2..25 holds with odds beyond 1 in 1000.
    assert 2 <= seen[3] <= 25, seen


def test_the_jackpot_appears_only_when_affordable() -> None:
    ceiling = JACKPOT - 1
    amounts = [prize(Mode.TIERS, DEFAULT_TIERS, SEED, k, ceiling, 1) for k in range(1, 50_001)]
    assert not any(jackpot for _, jackpot in amounts)
    assert max(a for a, _ in amounts) < JACKPOT
    bounded = [prize(Mode.BOUNDED, DEFAULT_TIERS, SEED, k, ceiling, 1) for k in range(1, 50_001)]
    assert not any(jackpot for _, jackpot in bounded)


def test_the_jackpot_is_paid_as_a_fixed_amount_when_drawn() -> None:
    drawn = (prize(Mode.TIERS, DEFAULT_TIERS, SEED, k, 10**9, 1) for k in range(1, 100_001))
    jackpots = [(amount, jackpot) for amount, jackpot in drawn if jackpot]
    assert jackpots and all(amount == JACKPOT for amount, _ in jackpots)


def test_unaffordable_tiers_are_skipped_and_the_rest_share_their_chance() -> None:
    ceiling = 1_999  # the [20, 50) tier and the jackpot cannot be paid
    seen = Counter(
        tier_of(prize(Mode.TIERS, DEFAULT_TIERS, SEED, k, ceiling, 1)[0]) for k in range(1, DRAWS + 1)
    )
    assert set(seen) == {0, 1}
    assert abs(seen[0] / DRAWS - 8_500 / 9_500) < TOLERANCE
    assert abs(seen[1] / DRAWS - 1_000 / 9_500) < TOLERANCE


def test_a_partly_affordable_tier_is_clipped_to_what_is_left() -> None:
    amounts = [prize(Mode.TIERS, DEFAULT_TIERS, SEED, k, 600, 1)[0] for k in range(1, 5_001)]
    assert min(amounts) >= MIN_PRIZE and max(amounts) <= 600
    assert any(a >= 500 for a in amounts)


@settings(max_examples=300, deadline=None)
@given(
    mode=st.sampled_from(list(Mode)),
    count=st.integers(1, 60),
    extra=st.integers(0, 200_000),
    seed=st.binary(min_size=1, max_size=16),
)
def test_a_whole_campaign_never_overspends_and_pays_at_least_the_minimum(
    mode: Mode, count: int, extra: int, seed: bytes
) -> None:
    pool = MIN_PRIZE * count + extra
    campaign = Campaign(
        id="c", chat_id=1, funder_id=1, funder_name="f", pool=pool, count=count, mode=mode,
        tiers=DEFAULT_TIERS, seed=seed, created_at=0, ends_at=1, interval_ms=0, max_wins=1,
    )
    prizes = replay_wins(campaign)
    assert len(prizes) == count
    assert all(amount >= MIN_PRIZE for amount, _ in prizes)
    assert sum(amount for amount, _ in prizes) <= pool
    assert all(amount == JACKPOT for amount, jackpot in prizes if jackpot)


def test_bounded_prizes_stay_within_twice_the_mean() -> None:
    remaining, left = 100_000, 50
    for k in range(1, 2_001):
        amount, jackpot = prize(Mode.BOUNDED, DEFAULT_TIERS, SEED, k, remaining, left)
        assert jackpot or MIN_PRIZE <= amount <= 2 * remaining // left


def test_prizes_are_reproducible_from_the_seed() -> None:
    first = [prize(Mode.TIERS, DEFAULT_TIERS, SEED, k, 50_000, 10) for k in range(1, 100)]
    again = [prize(Mode.TIERS, DEFAULT_TIERS, SEED, k, 50_000, 10) for k in range(1, 100)]
    other = [prize(Mode.TIERS, DEFAULT_TIERS, b"other", k, 50_000, 10) for k in range(1, 100)]
    assert first == again != other


def test_tiers_round_trip_through_their_stored_text() -> None:
    assert tiers_from_text(tiers_to_text(DEFAULT_TIERS)) == DEFAULT_TIERS


def test_win_probability_drains_the_prizes_over_the_duration() -> None:
    # 100 shakes seen in the first minute, 9 minutes and 10 prizes left:
    # about 900 shakes are still to come, so about 1 in 90 wins.
    p = win_probability(10, 100, 60_000, 540_000)
    assert p == pytest.approx(10 / 900)
    assert win_probability(10, 1, 0, 600_000) < 1  # one shake at once is no proof of a crowd
    assert win_probability(10, 5, 60_000, 1_000) == 1.0  # time is nearly up: everyone wins
    assert win_probability(0, 100, 60_000, 540_000) == 0.0
    assert win_probability(10, 100, 60_000, 0) == 1.0


def test_the_remaining_figure_is_refreshed_in_tenths() -> None:
    refreshes = [left for left in range(99, -1, -1) if crosses_step(100, left)]
    assert refreshes == [90, 80, 70, 60, 50, 40, 30, 20, 10]
    assert [left for left in range(4, -1, -1) if crosses_step(5, left)] == [4, 3, 2, 1]


def test_parse_start_reads_pool_count_duration_and_mode() -> None:
    boss = Member(1, "Boss")
    request = parse_start(["100", "20", "30m", "bounded"], -5, boss, ShakeLimits())
    assert (request.pool, request.count, request.duration_ms, request.mode) == (
        10_000, 20, 1_800_000, Mode.BOUNDED
    )
    request = parse_start(["50.5", "3", "tiers"], -5, boss, ShakeLimits())
    assert (request.pool, request.duration_ms, request.mode) == (5_050, None, Mode.TIERS)
    assert parse_duration("2h") == 7_200_000 and parse_duration("10") == 600_000
    for bad in (["100"], ["100", "20", "soon"], ["abc", "2"], ["100", "0"], ["1e3", "2"]):
        with pytest.raises(DomainError):
            parse_start(bad, -5, boss, ShakeLimits())


def test_the_audit_recomputes_each_win_from_the_seed() -> None:
    campaign = Campaign(
        id="c", chat_id=1, funder_id=1, funder_name="f", pool=100_00, count=5, mode=Mode.TIERS,
        tiers=DEFAULT_TIERS, seed=SEED, created_at=0, ends_at=1, interval_ms=0, max_wins=1,
    )
    expected = replay_wins(campaign, 2)
    wins = [Win("c", k, 10 + k, "m", amount, jackpot, 0)
            for k, (amount, jackpot) in enumerate(expected, start=1)]
    assert campaign_problems(campaign, wins) == []
    forged = [wins[0], replace(wins[1], amount=wins[1].amount + 1)]
    assert any("the seed says" in p for p in campaign_problems(campaign, forged))
    twice = [wins[0], replace(wins[1], member_id=wins[0].member_id)]
    assert any("won more than" in p for p in campaign_problems(campaign, twice))

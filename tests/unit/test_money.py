"""docs/rules.md §1: money is integer cents; parsing user input is strict."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from core.errors import DomainError
from core.money import format_cents, parse_amount, parse_count

MAX_SHARE = 20_000  # 200.00, the WeChat default per-share cap
MAX_COUNT = 100


# --- parse_amount: accepted forms -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("10", 1000),
        ("10.5", 1050),
        ("10.50", 1050),
        ("10.05", 1005),
        ("0.01", 1),
        ("0.5", 50),
        ("200", 20_000),
        ("200.00", 20_000),
        # full-width digits
        ("０.５", 50),
        ("１０", 1000),
        ("１０.５０", 1050),
        # full-width full stop (U+FF0E) and ideographic full stop (U+3002)
        ("１０．５", 1050),
        ("10．50", 1050),
        ("０．０１", 1),
        ("10。5", 1050),
        # surrounding whitespace (including the ideographic space) is ignored
        ("  10.5  ", 1050),
        ("\u300010\u3000", 1000),
    ],
)
def test_parse_amount_accepts(text: str, cents: int) -> None:
    assert parse_amount(text) == cents
    assert isinstance(parse_amount(text), int)


@pytest.mark.parametrize("text", ["10²", "2³", "1₀"])
def test_parse_amount_refuses_superscript_and_subscript_digits(text: str) -> None:
    with pytest.raises(DomainError) as info:
        parse_amount(text)
    assert info.value.key == "error.amount_format"


def test_parse_amount_at_maximum_is_accepted() -> None:
    assert parse_amount("200.00", maximum=MAX_SHARE) == MAX_SHARE
    assert parse_amount("２００", maximum=MAX_SHARE) == MAX_SHARE


# --- parse_amount: rejections, each with its message key --------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        # more than two decimals
        ("10.505", "error.amount_decimals"),
        ("0.001", "error.amount_decimals"),
        ("10.500", "error.amount_decimals"),
        ("１．２３４", "error.amount_decimals"),
        ("1.000", "error.amount_decimals"),  # European thousands: ambiguous, refused
        # exponents, NaN, infinity, other non-numbers
        ("1e3", "error.amount_format"),
        ("1E3", "error.amount_format"),
        ("1e-2", "error.amount_format"),
        ("nan", "error.amount_format"),
        ("NaN", "error.amount_format"),
        ("inf", "error.amount_format"),
        ("Infinity", "error.amount_format"),
        ("0x10", "error.amount_format"),
        ("+5", "error.amount_format"),
        ("ten", "error.amount_format"),
        (".", "error.amount_format"),
        ("1.2.3", "error.amount_format"),
        # negatives (ASCII and full-width minus) and zero
        ("-5", "error.amount_not_positive"),
        ("-0.01", "error.amount_not_positive"),
        ("－５", "error.amount_not_positive"),
        ("0", "error.amount_not_positive"),
        ("0.00", "error.amount_not_positive"),
        ("0.0", "error.amount_not_positive"),
        ("０", "error.amount_not_positive"),
        # thousands separators
        ("1,000", "error.amount_separator"),
        ("1,000.00", "error.amount_separator"),
        ("１，０００", "error.amount_separator"),
        ("1 000", "error.amount_separator"),
        ("1\u00a0000", "error.amount_separator"),  # no-break space
        ("1\u2009000", "error.amount_separator"),  # thin space
        ("1_000", "error.amount_separator"),
        ("1'000", "error.amount_separator"),
        # empty
        ("", "error.amount_missing"),
        ("   ", "error.amount_missing"),
        ("\u3000", "error.amount_missing"),
        # absurdly long (more than 12 digits of units)
        ("1" * 20, "error.amount_too_large"),
    ],
)
def test_parse_amount_rejects(text: str, key: str) -> None:
    with pytest.raises(DomainError) as info:
        parse_amount(text)
    assert info.value.key == key


@pytest.mark.parametrize("text", ["200.01", "201", "１０００", "99999"])
def test_parse_amount_above_maximum(text: str) -> None:
    with pytest.raises(DomainError) as info:
        parse_amount(text, maximum=MAX_SHARE)
    assert info.value.key == "error.amount_too_large"
    # the refusal says what is allowed
    assert info.value.params["maximum"] == MAX_SHARE


def test_rejection_carries_the_original_text() -> None:
    with pytest.raises(DomainError) as info:
        parse_amount("１，０００")
    assert info.value.params["text"] == "１，０００"


# --- parse_count ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "count"),
    [("1", 1), ("10", 10), ("100", 100), ("１０", 10), ("１００", 100), (" 7 ", 7), ("007", 7)],
)
def test_parse_count_accepts(text: str, count: int) -> None:
    assert parse_count(text, maximum=MAX_COUNT) == count


@pytest.mark.parametrize(
    "text",
    ["0", "０", "00", "-1", "-５", "1.5", "10.0", "１．５", "", "ten", "1e2", "1,0", "+3", "nan"],
)
def test_parse_count_rejects_format(text: str) -> None:
    with pytest.raises(DomainError) as info:
        parse_count(text, maximum=MAX_COUNT)
    assert info.value.key == "error.count_format"
    assert info.value.params["maximum"] == MAX_COUNT


@pytest.mark.parametrize(("text", "count"), [("101", 101), ("１０１", 101), ("100000", 100000)])
def test_parse_count_rejects_above_maximum(text: str, count: int) -> None:
    with pytest.raises(DomainError) as info:
        parse_count(text, maximum=MAX_COUNT)
    assert info.value.key == "error.count_too_large"
    assert info.value.params == {"count": count, "maximum": MAX_COUNT}


# --- format_cents -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("cents", "text"),
    [(0, "0.00"), (1, "0.01"), (10, "0.10"), (100, "1.00"), (1050, "10.50"),
     (61800, "618.00"), (-2, "-0.02"), (-1050, "-10.50")],
)
def test_format_cents(cents: int, text: str) -> None:
    assert format_cents(cents) == text


@settings(max_examples=500, deadline=None)
@given(st.integers(min_value=1, max_value=10**14 - 1))
def test_format_parse_round_trip(cents: int) -> None:
    assert parse_amount(format_cents(cents)) == cents


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=10**9))
def test_round_trip_through_full_width(cents: int) -> None:
    # A member on a Chinese IME types the same amount in full-width characters.
    text = format_cents(cents).translate(
        str.maketrans("0123456789.", "０１２３４５６７８９．")
    )
    assert parse_amount(text) == cents


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=10**9), st.integers(min_value=1, max_value=10**9))
def test_maximum_is_inclusive(cents: int, maximum: int) -> None:
    text = format_cents(cents)
    if cents <= maximum:
        assert parse_amount(text, maximum=maximum) == cents
    else:
        with pytest.raises(DomainError) as info:
            parse_amount(text, maximum=maximum)
        assert info.value.key == "error.amount_too_large"

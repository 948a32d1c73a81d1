"""Packet and campaign ids: one alphabet, one generator, one pattern."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from core.ids import ID_ALPHABET, ID_LENGTH, ID_PATTERN, is_id, new_id


def test_new_ids_are_ids_and_differ() -> None:
    ids = {new_id() for _ in range(200)}
    assert len(ids) == 200 and all(is_id(i) and len(i) == ID_LENGTH for i in ids)


@given(st.text(max_size=ID_LENGTH + 2))
def test_the_pattern_says_what_is_id_says(text: str) -> None:
    assert bool(re.fullmatch(ID_PATTERN, text)) == is_id(text)


def test_the_alphabet_is_ascii_letters_and_digits() -> None:
    assert set(ID_ALPHABET) == set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    assert not is_id("ａ" * ID_LENGTH) and not is_id("é" * ID_LENGTH)

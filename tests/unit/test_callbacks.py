"""Every callback format in one module: each parses back to itself alone, fits
Telegram's 64 bytes, and takes ids exactly as core.ids makes them."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from bot import callbacks
from bot.callbacks import CALLBACK_DATA_LIMIT, PATTERNS, Action, Callback, DraftButton
from core.ids import ID_LENGTH, new_id


def every_button() -> list[tuple[str, Callback]]:
    """Each builder with its widest arguments, and what parsing must give back."""
    packet, campaign = new_id(), new_id()
    built = [
        (callbacks.open_packet(packet), Callback(Action.OPEN, packet)),
        (callbacks.send_again(packet), Callback(Action.SEND_AGAIN, packet)),
        (callbacks.my_packets(), Callback(Action.MY_PACKETS, "")),
        (callbacks.shake(campaign), Callback(Action.SHAKE, campaign)),
        (callbacks.records_page(0), Callback(Action.RECORDS_PAGE, "0")),
        (callbacks.records_page(10**9), Callback(Action.RECORDS_PAGE, str(callbacks.MAX_RECORDS_PAGE))),
    ]
    built += [(callbacks.draft(b), Callback(Action.DRAFT, b.value)) for b in DraftButton]
    widest = 10**19 - 1  # a command's message id, as the draft's own id
    built += [(callbacks.draft(b, widest), Callback(Action.DRAFT, f"{b.value}:{widest}"))
              for b in DraftButton]
    built += [(callbacks.lang(code), Callback(Action.LANG, code)) for code in ("en", "zh", "auto")]
    return built


def test_every_action_has_a_format_a_pattern_and_a_button() -> None:
    assert set(callbacks.FORMATS) == set(PATTERNS) == set(Action)
    assert {parsed.action for _, parsed in every_button()} == set(Action)


def test_every_button_parses_back_and_fits_telegram() -> None:
    for data, parsed in every_button():
        assert len(data.encode("utf-8")) <= CALLBACK_DATA_LIMIT, data
        assert callbacks.parse(data) == parsed, data


def test_no_two_prefixes_collide() -> None:
    """Each button's data reaches exactly one handler pattern and one format."""
    for data, parsed in every_button():
        handlers = [a for a, pattern in PATTERNS.items() if re.search(pattern, data)]
        formats = [a for a, f in callbacks.FORMATS.items() if f.fullmatch(data)]
        assert handlers == [parsed.action] and formats == [parsed.action], data
    prefixes = [a.value for a in Action]
    assert len(set(prefixes)) == len(prefixes)


def test_ids_are_taken_exactly_as_core_makes_them() -> None:
    packet = new_id()
    assert callbacks.parse(f"o:{packet}x") is None
    assert callbacks.parse(f"o:{packet[:-1]}") is None
    assert callbacks.parse("sk:" + "é" * ID_LENGTH) is None
    assert callbacks.parse("rec:٣") is None  # a digit, but not an ASCII one
    assert callbacks.parse("rec:12345") is None


@given(st.text(max_size=80))
def test_anything_else_is_refused_or_round_trips(data: str) -> None:
    parsed = callbacks.parse(data)
    if parsed is not None:
        assert len(data.encode("utf-8")) <= CALLBACK_DATA_LIMIT
        assert data == (parsed.action.value if parsed.action is Action.MY_PACKETS
                        else f"{parsed.action.value}:{parsed.arg}")


def test_a_draft_button_names_its_draft_and_nothing_else() -> None:
    assert callbacks.draft_parts("s:12345") == (DraftButton.SEND, 12345)
    assert callbacks.draft_parts("c") == (DraftButton.CANCEL, None)
    for forged in ("d:s:0", "d:s:012", "d:s:-1", "d:s:1x", "d:s:" + "9" * 20, "d:x:1"):
        assert callbacks.parse(forged) is None, forged

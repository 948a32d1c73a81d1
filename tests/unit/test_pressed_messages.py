"""Presses on one message share its decoded ``Message``, decoded as PTB decodes it."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram import Bot, CallbackQuery, Message, Update

from bot import pressed_messages

BOT_USER = {"id": 1, "is_bot": True, "first_name": "bot", "username": "rp_bot"}
CHAT = {"id": -100, "type": "supergroup", "title": "g"}


def message(text: str = "🧧", *, message_id: int = 9, **extra: Any) -> dict[str, Any]:
    return {"message_id": message_id, "date": 1_700_000_000, "chat": CHAT, "from": BOT_USER,
            "text": text,
            "reply_markup": {"inline_keyboard": [[{"text": "Open", "callback_data": "o:abc"}]]},
            **extra}


def press(update_id: int, member: int, on: dict[str, Any] | None) -> dict[str, Any]:
    query: dict[str, Any] = {
        "id": f"q{update_id}", "chat_instance": "ci", "data": "o:abc",
        "from": {"id": member, "is_bot": False, "first_name": f"m{member}", "language_code": "zh"},
    }
    if on is not None:
        query["message"] = on
    return {"update_id": update_id, "callback_query": query}


@pytest.fixture
def shared() -> Iterator[None]:
    assert pressed_messages.install()
    assert pressed_messages.installed()
    yield
    pressed_messages.uninstall()


def decode(raw: dict[str, Any], bot: Bot) -> Update:
    update = Update.de_json(copy.deepcopy(raw), bot)
    assert update is not None
    return update


def query_of(update: Update) -> CallbackQuery:
    assert update.callback_query is not None
    return update.callback_query


def ptb_decode(raw: dict[str, Any], bot: Bot) -> Update:
    was = pressed_messages.installed()
    pressed_messages.uninstall()
    try:
        return decode(raw, bot)
    finally:
        if was:
            pressed_messages.install()


def test_presses_on_one_message_share_it(shared: None) -> None:
    bot = Bot("1:x")
    first, second = (query_of(decode(press(n, 100 + n, message()), bot)) for n in (1, 2))
    assert first.message is second.message
    assert first.from_user != second.from_user
    assert first.message is not None and first.message.get_bot() is bot


def test_other_messages_are_their_own(shared: None) -> None:
    bot = Bot("1:x")
    a = query_of(decode(press(1, 5, message("🧧 ¥1.00 left")), bot)).message
    b = query_of(decode(press(2, 5, message("🧧 ¥0.50 left")), bot)).message
    c = query_of(decode(press(3, 5, message(message_id=10)), bot)).message
    assert a is not b and a is not c and b is not c
    assert isinstance(a, Message) and a.text == "🧧 ¥1.00 left"


def test_another_bot_gets_its_own_copy(shared: None) -> None:
    one, other = Bot("1:x"), Bot("1:x")
    a = query_of(decode(press(1, 5, message()), one)).message
    b = query_of(decode(press(2, 5, message()), other)).message
    assert a is not b and a is not None and b is not None
    assert a.get_bot() is one and b.get_bot() is other


class _CallbackDataBot(Bot):
    """What PTB's ``ExtBot(arbitrary_callback_data=True)`` shows (its cache needs an extra)."""

    callback_data_cache = object()


def test_arbitrary_callback_data_is_never_shared(shared: None) -> None:
    bot = _CallbackDataBot("1:x")
    a = query_of(decode(press(1, 5, message()), bot)).message
    b = query_of(decode(press(2, 6, message()), bot)).message
    assert a is not b


def test_what_is_remembered_is_bounded(shared: None) -> None:
    bot = Bot("1:x")
    first = query_of(decode(press(0, 5, message(message_id=0)), bot)).message
    for n in range(1, pressed_messages.MAX_REMEMBERED + 1):
        decode(press(n, 5, message(message_id=n)), bot)
    assert len(pressed_messages._remembered) == pressed_messages.MAX_REMEMBERED
    again = query_of(decode(press(0, 5, message(message_id=0)), bot)).message
    assert again is not first and again == first


def test_an_inaccessible_message_and_none_decode_as_in_ptb(shared: None) -> None:
    bot = Bot("1:x")
    gone = {"message_id": 3, "date": 0, "chat": CHAT}
    decoded = query_of(decode(press(1, 5, gone), bot)).message
    assert decoded == query_of(ptb_decode(press(1, 5, gone), bot)).message
    assert query_of(decode(press(2, 5, None), bot)).message is None


_text = st.text(min_size=1, max_size=40)
_entity = st.fixed_dictionaries({"type": st.sampled_from(["bold", "italic", "code"]),
                                 "offset": st.integers(0, 5), "length": st.integers(1, 5)})
_messages = st.builds(
    lambda text, entities, edit, buttons, caption_id: message(
        text, **({"entities": entities} if entities else {}),
        **({"edit_date": edit} if edit else {}),
        reply_markup={"inline_keyboard": [[{"text": b, "callback_data": f"o:{b[:8]}"}
                                           for b in buttons]]},
        **({"message_thread_id": caption_id} if caption_id else {})),
    _text, st.lists(_entity, max_size=3), st.integers(0, 2_000_000_000),
    st.lists(_text, min_size=1, max_size=3), st.integers(0, 50))


@settings(max_examples=30, deadline=None)
@given(st.lists(_messages, min_size=1, max_size=6), st.lists(st.integers(0, 5), max_size=12))
def test_decoded_as_ptb_decodes(pool: list[dict[str, Any]], picks: list[int]) -> None:
    """Whatever the sequence of presses, each update equals PTB's own decoding."""
    bot = Bot("1:x")
    assert pressed_messages.install()
    try:
        for n, pick in enumerate(picks):
            raw = press(n, 1000 + n, pool[pick % len(pool)])
            ours, theirs = decode(raw, bot), ptb_decode(raw, bot)
            assert ours == theirs
            assert ours.to_dict() == theirs.to_dict()
            assert query_of(ours).message == query_of(theirs).message
            assert query_of(ours).to_dict() == query_of(theirs).to_dict()
    finally:
        pressed_messages.uninstall()


def test_install_leaves_an_unknown_decoder_alone() -> None:
    def other(cls: type, data: Any, bot: Any = None) -> Any:
        return None

    original = CallbackQuery.__dict__["de_json"]
    try:
        CallbackQuery.de_json = classmethod(other)  # type: ignore[method-assign,assignment]
        assert not pressed_messages.install()
        assert not pressed_messages.installed()
    finally:
        CallbackQuery.de_json = original  # type: ignore[method-assign]

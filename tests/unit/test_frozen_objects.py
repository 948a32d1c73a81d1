"""The cheaper attribute guard decides exactly what PTB's own does."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from telegram import Bot, CallbackQuery, Update, User

from bot import frozen_objects

UPDATE = {
    "update_id": 7,
    "callback_query": {
        "id": "q1", "chat_instance": "ci", "data": "o:abc",
        "from": {"id": 5, "is_bot": False, "first_name": "Ann", "language_code": "zh"},
        "message": {
            "message_id": 9, "date": 1_700_000_000, "text": "🧧",
            "chat": {"id": -100, "type": "supergroup", "title": "g"},
            "from": {"id": 1, "is_bot": True, "first_name": "bot", "username": "rp_bot"},
            "reply_markup": {"inline_keyboard": [[{"text": "Open", "callback_data": "o:abc"}]]},
        },
    },
}


@pytest.fixture(params=["ptb", "cheaper"])
def guard(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "cheaper":
        assert frozen_objects.install()
        assert frozen_objects.installed()
    yield request.param
    frozen_objects.uninstall()


def decoded() -> Update:
    update = Update.de_json(json.loads(json.dumps(UPDATE)), Bot("1:x"))
    assert update is not None
    return update


def test_decoded_objects_are_the_same(guard: str) -> None:
    frozen_objects.uninstall()
    expected = decoded()
    if guard == "cheaper":
        frozen_objects.install()
    update = decoded()
    assert update == expected
    assert update.to_dict() == expected.to_dict()
    assert update.callback_query is not None and update.callback_query.message is not None
    assert update.callback_query.message.chat.id == -100


def test_frozen_objects_still_refuse(guard: str) -> None:
    query = decoded().callback_query
    assert query is not None
    with pytest.raises(AttributeError, match="Attribute `data` of class `CallbackQuery` can't be set"):
        query.data = "forged"
    with pytest.raises(AttributeError):
        del query.data
    query._frozen = True  # protected names stay settable, as in PTB
    assert query.data == "o:abc"


def test_unfrozen_objects_accept(guard: str) -> None:
    user = User(5, "Ann", False)
    with user._unfrozen():
        user.first_name = "Bea"
    assert user.first_name == "Bea"
    with pytest.raises(AttributeError):
        user.first_name = "Cat"


def test_install_leaves_an_unknown_guard_alone() -> None:
    def other(self: object, key: str, value: object) -> None:
        object.__setattr__(self, key, value)

    original = CallbackQuery.__mro__[-2].__dict__["__setattr__"]
    try:
        from telegram._telegramobject import TelegramObject

        TelegramObject.__setattr__ = other  # type: ignore[method-assign]
        assert not frozen_objects.install()
        assert TelegramObject.__dict__["__setattr__"] is other
    finally:
        TelegramObject.__setattr__ = original  # type: ignore[method-assign]

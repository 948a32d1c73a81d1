"""A crowd's presses carry one message: decode it once (issue 8).

Every callback-query update carries the whole message its button sits under.
In a crowd, the thousand presses on a packet carry the same packet message,
and python-telegram-bot decodes it afresh for each one: a ``Message`` with
~150 attributes, its chat, sender, entities and keyboard — about half of what
decoding a press costs, and more the longer the packet message is.

``install()`` makes ``CallbackQuery.de_json`` decode exactly as PTB's own does
(the presser, then the message, then the query), except that a message whose
JSON equals the one decoded last for the same chat, message and edit, for the
same bot, is the very same frozen object: PTB's objects cannot be changed once
decoded, so sharing one is indistinguishable from holding equal copies. Not
shared: the presser (different for every press), and anything when the bot
keeps arbitrary callback data (PTB then rewrites each query's keyboard in
place). Nothing changes when PTB's method is not the one this was written
against.
"""

from __future__ import annotations

from typing import Any

from telegram import Bot, CallbackQuery, Message, User
from telegram._telegramobject import TelegramObject
from telegram._utils.argumentparsing import de_json_optional

__all__ = ["MAX_REMEMBERED", "install", "installed", "uninstall"]

# Messages remembered, newest kept: a few per packet being pressed (each edit
# of a packet message makes a new one); each is at most a few kilobytes.
MAX_REMEMBERED = 256

_PTB_DE_JSON = CallbackQuery.__dict__["de_json"]
# (chat, message, last edit) -> the JSON decoded, its bot, the decoded message
_remembered: dict[tuple[Any, Any, Any], tuple[dict[str, Any], Bot | None, Message]] = {}


def _message(data: dict[str, Any] | None, bot: Bot | None) -> Message | None:
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("chat"), dict)
        or getattr(bot, "callback_data_cache", None) is not None
    ):
        return de_json_optional(data, Message, bot)
    key = (data["chat"].get("id"), data.get("message_id"), data.get("edit_date"))
    known = _remembered.get(key)
    # Shared only if the JSON is equal throughout (PTB's decoding leaves it as it was).
    if known is not None and known[1] is bot and known[0] == data:
        return known[2]
    message = Message.de_json(data, bot)
    if key not in _remembered and len(_remembered) >= MAX_REMEMBERED:
        del _remembered[next(iter(_remembered))]
    _remembered[key] = (data, bot, message)
    return message


def _de_json(cls: type[CallbackQuery], data: dict[str, Any], bot: Bot | None = None) -> Any:
    data = cls._parse_data(data)
    data["from_user"] = de_json_optional(data.pop("from", None), User, bot)
    data["message"] = _message(data.get("message"), bot)
    return TelegramObject.de_json.__func__(cls, data=data, bot=bot)  # type: ignore[attr-defined]


_SHARED = classmethod(_de_json)


def _is_ptb_decoder(method: object) -> bool:
    """PTB's own ``CallbackQuery.de_json`` as released in v22: the steps reproduced above."""
    function = getattr(method, "__func__", None)
    code = getattr(function, "__code__", None)
    return (
        code is not None
        and getattr(function, "__qualname__", "") == "CallbackQuery.de_json"
        and set(code.co_names) >= {"_parse_data", "de_json_optional", "User", "Message"}
        and "de_list_optional" not in code.co_names
    )


def install() -> bool:
    """Share decoded messages; False (and PTB's own kept) if PTB's is not the known one."""
    current = CallbackQuery.__dict__.get("de_json")
    if current is _SHARED:
        return True
    if not _is_ptb_decoder(current):
        return False
    CallbackQuery.de_json = _SHARED  # type: ignore[method-assign,assignment]
    return True


def installed() -> bool:
    return CallbackQuery.__dict__.get("de_json") is _SHARED


def uninstall() -> None:
    """Back to PTB's own method, and nothing remembered (tests compare both)."""
    CallbackQuery.de_json = _PTB_DE_JSON  # type: ignore[method-assign]
    _remembered.clear()

"""A cheaper attribute guard for python-telegram-bot's objects (issue 8).

PTB's ``TelegramObject`` freezes its instances with a Python ``__setattr__``
that every attribute assignment goes through, frozen or not: decoding one
callback-query update (the ``Update``, its ``CallbackQuery``, the
``Message`` with ~150 slots, two ``User`` and a ``Chat``) makes ~240 such
calls, and the zero-argument ``super().__setattr__`` in each is most of what
a decoded update costs — about a quarter of the bot's CPU in a crowd.

``install()`` replaces that method with one that decides exactly the same
(names starting with ``_`` are always settable; others only while the object
is not frozen; otherwise the same ``AttributeError``) but calls
``object.__setattr__`` directly. Nothing else of PTB changes, and nothing
changes when PTB's own method is not the one this was written against.
"""

from __future__ import annotations

from telegram._telegramobject import TelegramObject

__all__ = ["install", "installed", "uninstall"]

_PTB_SETATTR = TelegramObject.__setattr__
_set = object.__setattr__


def _guarded_setattr(self: TelegramObject, key: str, value: object) -> None:
    if key[0] == "_" or not self._frozen:
        _set(self, key, value)
        return
    raise AttributeError(f"Attribute `{key}` of class `{self.__class__.__name__}` can't be set!")


def _is_ptb_guard(method: object) -> bool:
    """PTB's own ``__setattr__`` as released in v22: the rule reproduced above."""
    code = getattr(method, "__code__", None)
    return (
        code is not None
        and getattr(method, "__qualname__", "") == "TelegramObject.__setattr__"
        and "_frozen" in code.co_names
        and "super" in code.co_names
    )


def install() -> bool:
    """Use the cheaper guard; False (and PTB's own kept) if PTB's is not the known one."""
    current = TelegramObject.__dict__.get("__setattr__")
    if current is _guarded_setattr:
        return True
    if not _is_ptb_guard(current):
        return False
    TelegramObject.__setattr__ = _guarded_setattr  # type: ignore[method-assign]
    return True


def installed() -> bool:
    return TelegramObject.__dict__.get("__setattr__") is _guarded_setattr


def uninstall() -> None:
    """Back to PTB's own method (tests compare both)."""
    TelegramObject.__setattr__ = _PTB_SETATTR  # type: ignore[method-assign]

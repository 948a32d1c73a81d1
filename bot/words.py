"""The words members read: catalog lookups, HTML escaping, money.

``render``, ``keyboards`` and ``notify`` take a ``Words`` instead of the whole
bot context: what they need to write a message is the catalogs, the currency
symbol and the language to fall back on.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from core.amount import Amount
from core.money import format_cents

from bot.i18n import Translator, get_translator, normalize_language

__all__ = ["Markup", "Words"]


class Markup(str):
    """An HTML fragment we built ourselves: ``Words.html`` does not escape it."""


@dataclass(frozen=True)
class Words:
    currency_symbol: str
    default_language: str
    translator: Translator = field(default_factory=get_translator)

    def money(self, cents: int) -> str:
        return f"{self.currency_symbol}{format_cents(cents)}"

    def lang(self, code: str | None) -> str:
        """A Telegram ``language_code`` (or stored override) as ``en``/``zh``."""
        return normalize_language(code or self.default_language)

    def text(self, lang: str, key: str, **params: Any) -> str:
        """Plain text (callback answers): ``Amount`` params become money."""
        return self.translator.translate(lang, key, **self._params(params, escape=False))

    def html(self, lang: str, key: str, **params: Any) -> str:
        """HTML text: ``str`` params are escaped, ``Amount`` params become money.

        Pass pre-rendered HTML fragments wrapped in ``Markup`` to skip escaping.
        """
        return self.translator.translate(lang, key, **self._params(params, escape=True))

    def _params(self, params: dict[str, Any], escape: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in params.items():
            if isinstance(value, Amount):
                out[name] = self.money(int(value))
            elif escape and isinstance(value, str) and not isinstance(value, Markup):
                out[name] = html.escape(value, quote=False)
            else:
                out[name] = value
        return out

"""Message catalogs: ``bot/locales/<lang>/LC_MESSAGES/*.po`` read through Babel.

msgids are dotted keys (``press.too_slow``); templates use ``{name}``
placeholders filled with ``str.format``. All ``.po`` files of a language are
merged, so a feature can ship its own file (``shake.po``) beside the others.
"""

from __future__ import annotations

import logging
import string
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "LOCALES_DIR",
    "CatalogError",
    "Translator",
    "get_translator",
    "normalize_language",
    "placeholders",
    "translate",
]

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DEFAULT_LANGUAGE = "en"
LANGUAGES: tuple[str, ...] = ("en", "zh")

_log = logging.getLogger(__name__)


class CatalogError(Exception):
    """A catalog on disk is malformed or two files define the same key."""


class _KeepMissing(dict[str, Any]):
    # A template naming a param the caller forgot keeps "{name}" instead of raising.
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def normalize_language(code: str | None) -> str:
    """Map a Telegram ``language_code`` (``zh-hans``, ``zh_CN``, ``en-US``) to en/zh."""
    if not code:
        return DEFAULT_LANGUAGE
    primary = code.strip().lower().replace("_", "-").split("-", 1)[0]
    return "zh" if primary == "zh" else DEFAULT_LANGUAGE


def placeholders(template: str) -> frozenset[str]:
    """The ``{name}`` fields a template uses."""
    return frozenset(
        field.split(".", 1)[0].split("[", 1)[0]
        for _, field, _, _ in string.Formatter().parse(template)
        if field
    )


def _load_language(directory: Path) -> dict[str, str]:
    messages: dict[str, str] = {}
    origin: dict[str, Path] = {}
    for po_path in sorted((directory / "LC_MESSAGES").glob("*.po")):
        with po_path.open("rb") as handle:
            try:
                catalog = read_po(handle, abort_invalid=True)
            except Exception as exc:  # babel raises PoFileError and friends
                raise CatalogError(f"{po_path}: {exc}") from exc
        for message in catalog:
            key, text = message.id, message.string
            if not key or not isinstance(key, str) or not isinstance(text, str):
                continue  # header entry, or a plural form we do not use
            if not text or message.fuzzy:
                continue  # untranslated: fall back like gettext does
            if key in messages:
                raise CatalogError(f"{key!r} is defined in both {origin[key]} and {po_path}")
            messages[key] = text
            origin[key] = po_path
    return messages


class Translator:
    """Catalogs of every language found under ``locales_dir``, loaded once."""

    def __init__(self, locales_dir: Path = LOCALES_DIR) -> None:
        self._catalogs: dict[str, dict[str, str]] = {
            entry.name: _load_language(entry)
            for entry in sorted(locales_dir.iterdir())
            if (entry / "LC_MESSAGES").is_dir()
        }
        self._catalogs.setdefault(DEFAULT_LANGUAGE, {})

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self._catalogs)

    def catalog(self, lang: str) -> Mapping[str, str]:
        """The raw templates of one language (empty if unknown)."""
        return self._catalogs.get(lang, {})

    def translate(self, lang: str, key: str, **params: Any) -> str:
        """The message ``key`` in ``lang``, else English, else the key itself.

        When ``n`` (or, without ``n``, ``count``) is 1 and the catalog has
        ``key.one``, that singular form wins ("1 share", not "1 shares").
        """
        quantity = params["n"] if "n" in params else params.get("count")
        keys = (key + ".one", key) if quantity == 1 else (key,)
        for candidate in (lang, DEFAULT_LANGUAGE):
            catalog = self._catalogs.get(candidate, {})
            template = next((catalog[k] for k in keys if k in catalog), None)
            if template is None:
                continue
            try:
                return template.format_map(_KeepMissing(params))
            except (ValueError, IndexError, AttributeError, KeyError):
                _log.warning("bad template for %s in %s", key, candidate)
        return key


@lru_cache(maxsize=1)
def get_translator() -> Translator:
    """The process-wide translator over ``bot/locales``."""
    return Translator()


def translate(lang: str, key: str, **params: Any) -> str:
    """Translate with the shared catalogs; ``lang`` is normalized first."""
    return get_translator().translate(normalize_language(lang), key, **params)

"""Message catalogs: en/zh lookups, fallbacks, language codes, catalog consistency."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.i18n import (
    LANGUAGES,
    CatalogError,
    Translator,
    get_translator,
    normalize_language,
    placeholders,
    translate,
)

REQUIRED_KEYS = {
    "error.amount_missing", "error.amount_separator", "error.amount_not_positive",
    "error.amount_format", "error.amount_decimals", "error.amount_too_large",
    "error.count_format", "error.count_too_large", "error.insufficient_funds",
    "error.total_too_small", "error.share_too_large", "error.count_exceeds_members",
    "press.not_this_time", "press.too_slow", "press.expired", "press.not_for_you",
}


def write_po(directory: Path, lang: str, name: str, entries: dict[str, str]) -> None:
    folder = directory / lang / "LC_MESSAGES"
    folder.mkdir(parents=True, exist_ok=True)
    body = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
    body += "".join(f'msgid "{key}"\nmsgstr "{text}"\n\n' for key, text in entries.items())
    (folder / name).write_text(body, encoding="utf-8")


def test_english_and_chinese() -> None:
    assert translate("en", "press.too_slow") == "Too slow — all shares have been taken"
    assert translate("en", "press.not_this_time") == "Not this time — try again"
    assert translate("en", "press.expired") == "This red packet has expired"
    assert translate("en", "press.not_for_you", name="Bob") == "This red packet is for Bob"
    assert translate("zh", "press.too_slow") == "手慢了，红包派完了"
    assert "Bob" in translate("zh-hans", "press.not_for_you", name="Bob")


def test_money_params_are_inserted_verbatim() -> None:
    text = translate("en", "error.insufficient_funds", balance="¥3.00", needed="¥10.00")
    assert "¥3.00" in text and "¥10.00" in text
    assert "¥200.00" in translate("zh", "error.share_too_large", maximum="¥200.00")


def test_rejections_say_what_is_allowed() -> None:
    assert translate("en", "error.amount_format") == (
        "Amounts are numbers like 10 or 10.50: at most two decimals, no thousands separators."
    )
    for lang in LANGUAGES:
        for key in ("error.amount_format", "error.amount_decimals", "error.amount_separator"):
            assert "10" in translate(lang, key)


def test_fallback_to_english_then_key(tmp_path: Path) -> None:
    write_po(tmp_path, "en", "messages.po", {"only.en": "English {x}", "both": "en"})
    write_po(tmp_path, "zh", "messages.po", {"both": "中文"})
    t = Translator(tmp_path)
    assert t.translate("zh", "both") == "中文"
    assert t.translate("zh", "only.en", x=1) == "English 1"
    assert t.translate("zh", "missing.key") == "missing.key"
    assert t.translate("fr", "both") == "en"


def test_missing_param_keeps_placeholder_instead_of_crashing() -> None:
    assert translate("en", "press.not_for_you") == "This red packet is for {name}"


def test_untranslated_entry_falls_back(tmp_path: Path) -> None:
    write_po(tmp_path, "en", "messages.po", {"k": "English"})
    write_po(tmp_path, "zh", "messages.po", {"k": ""})
    assert Translator(tmp_path).translate("zh", "k") == "English"


def test_all_po_files_of_a_language_are_merged(tmp_path: Path) -> None:
    write_po(tmp_path, "en", "messages.po", {"a": "A"})
    write_po(tmp_path, "en", "shake.po", {"shake.win": "You won {amount}"})
    t = Translator(tmp_path)
    assert t.translate("en", "a") == "A"
    assert t.translate("en", "shake.win", amount="2.00") == "You won 2.00"


def test_a_key_defined_twice_is_refused(tmp_path: Path) -> None:
    write_po(tmp_path, "en", "messages.po", {"a": "A"})
    write_po(tmp_path, "en", "shake.po", {"a": "B"})
    with pytest.raises(CatalogError, match="'a'"):
        Translator(tmp_path)


@pytest.mark.parametrize(
    ("code", "expected"),
    [("zh-hans", "zh"), ("zh-CN", "zh"), ("zh-TW", "zh"), ("zh", "zh"), ("zh_Hant_HK", "zh"),
     ("ZH-HANS", "zh"), ("en", "en"), ("en-US", "en"), ("ru", "en"), ("", "en"), (None, "en"),
     ("zhx", "en")],
)
def test_normalize_language(code: str | None, expected: str) -> None:
    assert normalize_language(code) == expected


def test_translator_is_loaded_once() -> None:
    assert get_translator() is get_translator()


def test_required_keys_exist() -> None:
    for lang in LANGUAGES:
        missing = REQUIRED_KEYS - set(get_translator().catalog(lang))
        assert not missing, f"{lang} lacks {sorted(missing)}"


def test_every_key_in_both_catalogs_with_the_same_placeholders() -> None:
    en, zh = (get_translator().catalog(lang) for lang in ("en", "zh"))
    assert set(en) == set(zh), f"only en: {set(en) - set(zh)}; only zh: {set(zh) - set(en)}"
    for key, english in en.items():
        assert placeholders(english) == placeholders(zh[key]), key


def test_every_template_formats() -> None:
    for lang in LANGUAGES:
        for key, template in get_translator().catalog(lang).items():
            params = {name: "X" for name in placeholders(template)}
            assert "{" not in translate(lang, key, **params), (lang, key)

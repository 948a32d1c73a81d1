"""bot.words: what render, keyboards and notify write with; bot.tasks: background work."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot import callbacks
from bot.callbacks import Action
from bot.tasks import Background
from bot.words import Markup, Words
from core.amount import Amount


def words() -> Words:
    return Words(currency_symbol="¥", default_language="en")


def test_html_escapes_text_but_not_markup_and_writes_money() -> None:
    w = words()
    assert w.money(12345) == "¥123.45"
    escaped = w.html("en", "balance.show", balance=Amount(250))
    assert "¥2.50" in escaped
    name = "<b>Bob</b>"
    assert "&lt;b&gt;Bob&lt;/b&gt;" in w.html("en", "packet.title_lucky", sender=name)
    assert "<b>Bob</b>" in w.html("en", "packet.title_lucky", sender=Markup(name))
    assert "<b>Bob</b>" in w.text("en", "packet.title_lucky", sender=name)


def test_languages_fall_back_to_the_default() -> None:
    assert words().lang(None) == "en"
    assert words().lang("zh-hans") == "zh"
    assert Words(currency_symbol="¥", default_language="zh").lang(None) == "zh"


def test_button_data_is_parsed_by_its_own_family_only() -> None:
    assert callbacks.argument(Action.RECORDS_PAGE, callbacks.records_page(3)) == "3"
    assert callbacks.argument(Action.SHAKE, callbacks.records_page(3)) is None
    assert callbacks.argument(Action.RECORDS_PAGE, "rec:" + "9" * 70) is None
    assert callbacks.argument(Action.RECORDS_PAGE, None) is None


async def test_drain_waits_for_tasks_and_the_other_sources(
    caplog: pytest.LogCaptureFixture,
) -> None:
    background = Background()
    done: list[str] = []
    gate = asyncio.Event()

    async def edit() -> None:
        await gate.wait()
        done.append("edit")

    edits = {asyncio.ensure_future(edit())}
    background.also_wait_for(lambda: {t for t in edits if not t.done()})

    async def job() -> None:
        await asyncio.sleep(0)
        done.append("job")
        gate.set()

    async def broken() -> None:
        raise ValueError("boom")

    background.spawn(job())
    background.spawn(broken())
    with caplog.at_level(logging.ERROR):
        await background.drain()
    assert sorted(done) == ["edit", "job"]
    assert "background task failed" in caplog.text

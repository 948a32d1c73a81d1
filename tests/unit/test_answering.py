"""A press's answer sends exactly what PTB's ``answer_callback_query`` sends."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram import Bot
from telegram.error import BadRequest
from telegram.request import BaseRequest, RequestData
from telegram.request._requestparameter import RequestParameter

from bot.answering import answer_callback, answer_parameters


class Recording(BaseRequest):
    def __init__(self, status: int = 200, body: bytes = b'{"ok":true,"result":true}') -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.status, self.body = status, body

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        if url.endswith("/getMe"):
            return 200, b'{"ok":true,"result":{"id":1,"is_bot":true,"first_name":"rp"}}'
        self.calls.append((url, request_data.json_parameters if request_data else {}))
        return self.status, self.body


@pytest.mark.parametrize(("text", "alert"), [(None, False), ("You got ¥1.23 🧧", False),
                                             ("Too slow", True), ("", False)])
async def test_the_same_call_as_ptb(text: str | None, alert: bool) -> None:
    ours, theirs = Recording(), Recording()
    async with Bot("1:X", request=ours) as ours_bot, Bot("1:X", request=theirs) as their_bot:
        assert await answer_callback(ours_bot, "q-1", text, alert) is True
        assert await their_bot.answer_callback_query("q-1", text, show_alert=alert) is True
    assert ours.calls[-1] == theirs.calls[-1]
    assert ours.calls[-1][0].endswith("/bot1:X/answerCallbackQuery")


async def test_a_refusal_is_a_telegram_error() -> None:
    refusing = Recording(400, b'{"ok":false,"error_code":400,"description":'
                              b'"Bad Request: query is too old and response timeout expired"}')
    async with Bot("1:X", request=refusing) as bot:
        with pytest.raises(BadRequest, match="too old"):
            await answer_callback(bot, "q-2", "late", False)


_answers = st.tuples(st.text(min_size=1, max_size=20), st.none() | st.text(max_size=60),
                    st.booleans())


@settings(max_examples=12, deadline=None)
@given(st.lists(_answers, min_size=1, max_size=25))
def test_the_answer_form_is_the_bytes_ptb_would_send(
    answers: list[tuple[str, str | None, bool]]
) -> None:
    """Whatever the text (CJK, emoji, ``&``, ``=``, ``+``, spaces), byte for byte."""
    async def both() -> list[tuple[dict[str, str], dict[str, str]]]:
        ours, theirs = Recording(), Recording()
        async with Bot("1:X", request=ours) as ours_bot, Bot("1:X", request=theirs) as their_bot:
            for query_id, text, alert in answers:
                await answer_callback(ours_bot, query_id, text, alert)
                await their_bot.answer_callback_query(query_id, text, show_alert=alert)
        return [(a[1], b[1]) for a, b in zip(ours.calls, theirs.calls, strict=True)]

    for (query_id, text, alert), (ours, theirs) in zip(answers, asyncio.run(both()), strict=True):
        assert ours == theirs
        form = answer_parameters(query_id, text, alert)
        fields = (("callback_query_id", query_id), ("text", text), ("show_alert", alert))
        ptb = RequestData([RequestParameter.from_input(name, value) for name, value in fields])
        assert form.body == urlencode(theirs).encode()
        assert form.json_parameters == theirs == ptb.json_parameters
        assert form.parameters == ptb.parameters
        assert form.multipart_data == {} and not form.contains_files
        assert form.url_encoded_parameters() == urlencode(theirs)

"""A press's answer sends exactly what PTB's ``answer_callback_query`` sends."""

from __future__ import annotations

from typing import Any

import pytest
from telegram import Bot
from telegram.error import BadRequest
from telegram.request import BaseRequest, RequestData

from bot.answering import answer_callback


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

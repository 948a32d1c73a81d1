"""``answerCallbackQuery`` without python-telegram-bot's per-call layers (issue 8).

Every press costs one answer. Through ``CallbackQuery.answer`` the call passes
``Bot.answer_callback_query``, ``ExtBot``'s defaults, ``Bot._post`` and the
rate limiter before it reaches the request — ~0.09 ms of CPU of a press's
~1 ms, for a call none of them changes: an answer takes no defaults and is
never rate-limited (``bot.ratelimit`` counts messages and edits to chats).
Here the same parameters, spelt as PTB spells them, go straight to the bot's
request as one ``bot.request.FormBody`` (encoded once), and the request maps
errors to ``TelegramError`` exactly as for any other call.
"""

from __future__ import annotations

from telegram import Bot

from bot.request import FormBody

__all__ = ["answer_callback", "answer_parameters"]


def answer_parameters(query_id: str, text: str | None, show_alert: bool) -> FormBody:
    """What ``Bot.answer_callback_query(query_id, text, show_alert=...)`` sends."""
    if text is None:
        return FormBody({"callback_query_id": query_id, "show_alert": show_alert})
    return FormBody({"callback_query_id": query_id, "text": text, "show_alert": show_alert})


async def answer_callback(bot: Bot, query_id: str, text: str | None, show_alert: bool) -> bool:
    """Answer a press; ``TelegramError`` as ``Bot.answer_callback_query`` raises it."""
    result = await bot.request.post(
        f"{bot.base_url}/answerCallbackQuery", answer_parameters(query_id, text, show_alert)
    )
    return bool(result)

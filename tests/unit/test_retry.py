"""What a failed Bot API call means: wait, try again, or give up."""

from __future__ import annotations

from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.retry import backoff, is_gone, is_not_modified, is_transient


def test_5xx_timeouts_and_lost_connections_are_tried_again_400s_are_not() -> None:
    assert is_transient(NetworkError("Bad Gateway")) and is_transient(TimedOut())
    assert not is_transient(BadRequest("Bad Request: can't parse entities"))
    assert not is_transient(RetryAfter(3))
    assert is_gone(BadRequest("Bad Request: message to edit not found"))
    assert is_gone(BadRequest("Bad Request: message can't be edited"))
    assert is_gone(Forbidden("Forbidden: bot was kicked from the supergroup chat"))
    assert not is_gone(NetworkError("Bad Gateway"))
    assert is_not_modified(BadRequest("Bad Request: message is not modified: same"))
    assert [backoff(n) for n in range(8)] == [0.5, 1, 2, 4, 8, 16, 30, 30]


def test_the_rate_limiters_give_up_line_has_no_traceback() -> None:
    import logging

    from bot.retry import one_line_rate_limit_logs

    one_line_rate_limit_logs()
    logger = logging.getLogger("telegram.ext.AIORateLimiter")
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    keep = Keep()
    logger.addHandler(keep)
    try:
        try:
            raise RuntimeError("retry after 3")
        except RuntimeError:
            logger.exception("Rate limit hit after maximum of %d retries", 3)
    finally:
        logger.removeHandler(keep)
    assert records and records[0].exc_info is None

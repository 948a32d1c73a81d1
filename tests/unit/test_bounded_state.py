"""State that grows with traffic has a bound."""

from __future__ import annotations

from bot.handlers.shake import FINISHED_REMEMBERED, CampaignMessages


def test_ended_campaigns_are_remembered_up_to_a_bound() -> None:
    book = CampaignMessages()
    for i in range(FINISHED_REMEMBERED + 5):
        book.langs[f"c{i}"] = "en"
        book.mark_finished(f"c{i}")
    assert len(book.finished) == FINISHED_REMEMBERED
    assert "c0" not in book.finished and "c0" not in book.langs
    assert f"c{FINISHED_REMEMBERED + 4}" in book.finished

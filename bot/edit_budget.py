"""How often a campaign message is edited: in steps, never on every win.

Telegram limits edits per chat (docs/rules.md §7), and a campaign's prizes
can go fast: the prizes-left figure is shown anew about ten times in all.
"""

from __future__ import annotations

from core.shake_service import ShakeAnswer, ShakeResult


def crosses_step(count: int, prizes_left: int) -> bool:
    """Whether the campaign message should show a new prizes-left figure now.

    Called after each win; true each time the figure reaches a multiple of a
    tenth of the prizes, so the message is edited about ten times, not on
    every win.
    """
    step = max(1, count // 10)
    return prizes_left > 0 and prizes_left % step == 0


def shows_new_figure(result: ShakeResult) -> bool:
    """A win that did not end the campaign and moved the figure onto a step."""
    campaign = result.campaign
    return (
        result.answer is ShakeAnswer.WON
        and result.ended is None
        and campaign is not None
        and crosses_step(campaign.count, campaign.prizes_left)
    )

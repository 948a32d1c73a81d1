"""``redpacket run`` keeps start-up objects out of the garbage collector's way."""

from __future__ import annotations

import gc

from bot.runner import GC_YOUNG_THRESHOLD, settle_collector


def test_start_up_objects_are_frozen_and_young_ones_collected_less_often() -> None:
    before = gc.get_threshold()
    try:
        settle_collector()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, *before[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)

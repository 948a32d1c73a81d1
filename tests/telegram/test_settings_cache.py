"""Chat settings cached per process go stale for seconds, never for good (two
Applications on one SQLite file stand for two bot processes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.allocation import Rule
from core.chats import ChatRules
from tests.telegram.bot_harness import GROUP_ID, running_bot


@pytest.mark.on_postgres
async def test_a_language_chosen_in_one_process_reaches_the_other(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as a, running_bot(tmp_path) as b:
        tom = a.updates.user(3, "Tom")
        await b.command(tom, "/balance")
        # /balance in a group answers by direct message; the group's pointer shows its language
        assert b.text(b.last_bot_message()["message_id"]).startswith("I sent your balance")
        a.req.set_member(GROUP_ID, 3, "administrator")
        await a.command(tom, "/lang")
        picker = a.last_bot_message()["message_id"]
        assert (await a.press(tom, picker, "l:zh"))["text"] == "语言：中文"
        b.clock.advance(stale_after_s())
        await b.command(tom, "/balance")
        assert b.text(b.last_bot_message()["message_id"]).startswith("你的余额已私信发给你")
        await a.audit()


async def test_a_split_rule_chosen_in_one_process_reaches_the_other(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as a, running_bot(tmp_path) as b:
        assert (await b.ctx.chats.rules(GROUP_ID)).lucky_rule is None
        await a.ctx.chats.set_rules(GROUP_ID, ChatRules(Rule.SEGMENT, None), a.clock.now_ms())
        b.clock.advance(stale_after_s())
        assert (await b.ctx.chats.rules(GROUP_ID)).lucky_rule is Rule.SEGMENT


def stale_after_s() -> float:
    from storage.sqlite.chats import ChatSettings

    return ChatSettings.CACHE_AGE_MS / 1000 + 1

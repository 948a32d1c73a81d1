"""Provably fair packets in the bot: the seal while live, the seed once over, and no
trace of a live packet's seed in any view, message or log line."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.telegram.bot_harness import Bot, running_bot
from tests.telegram.fake_telegram import JSON
from tests.telegram.test_bot_answers import send_packet


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Bot]:
    async with running_bot(tmp_path, packet_ttl_seconds=600) as running:
        yield running


async def private_view(bot: Bot, user: JSON, payload: str) -> str:
    """The result view's HTML."""
    await bot.private(user, f"/start {payload}")
    return bot.req.text(user["id"], bot.last_bot_message(user["id"])["message_id"])


def sealed(text: str) -> str:
    match = re.search(r"sealed with SHA-256\s*<code>([0-9a-f]+)…?</code>", text)
    assert match, text
    return match.group(1)


def revealed(text: str) -> str:
    match = re.search(r"(?:seed|种子) <code>([0-9a-f]{32})</code>", text)
    assert match, text
    return match.group(1)


async def test_the_seal_shown_while_live_is_the_sha256_of_the_seed_revealed_after(
    bot: Bot,
) -> None:
    alice, bob, carol = (bot.updates.user(i, n) for i, n in ((1, "Alice"), (2, "Bob"),
                                                               (3, "Carol")))
    packet_id, message_id = await send_packet(bot, alice, "/hongbao 10 2 fair")
    await bot.press(bob, message_id, f"o:{packet_id}")

    short = sealed(await private_view(bot, bob, f"p_{packet_id}"))
    full = sealed(await private_view(bot, alice, f"f_{packet_id}"))  # /records' detail
    assert len(short) == 16 and len(full) == 64 and full.startswith(short)
    assert "revealed" not in short and "seed <code>" not in await private_view(
        bot, alice, f"p_{packet_id}"
    )

    await bot.press(carol, message_id, f"o:{packet_id}")  # the last share: finished
    view = await private_view(bot, carol, f"p_{packet_id}")
    seed = revealed(view)
    assert hashlib.sha256(bytes.fromhex(seed)).hexdigest() == full
    assert f"<code>{short}…</code>" in view
    (packet,) = await bot.ctx.store.all_packets()
    assert (
        f"redpacket verify --seed {seed} --rule double_mean --total 10.00 --count 2"
        " --cap 200.00" in view
    )
    assert f"redpacket verify {packet_id}" in view
    assert seed == packet.seed.hex()
    await bot.audit()


async def test_an_expired_packet_reveals_its_seed_in_both_languages(bot: Bot) -> None:
    alice = bot.updates.user(1, "Alice")
    li = bot.updates.user(2, "李雷", language_code="zh")
    packet_id, message_id = await send_packet(bot, alice, "/hongbao 6 3")
    await bot.press(li, message_id, f"o:{packet_id}")
    assert "随机种子已用 SHA-256 封存" in await private_view(bot, li, f"p_{packet_id}")
    bot.clock.advance(601)
    await bot.ctx.packets.expire_due()
    zh = await private_view(bot, li, f"p_{packet_id}")
    en = await private_view(bot, alice, f"f_{packet_id}")
    (packet,) = await bot.ctx.store.all_packets()
    assert revealed(zh) == revealed(en) == packet.seed.hex()
    assert "公平分配：种子" in zh and "每一份都可以自己重算" in zh
    assert hashlib.sha256(packet.seed).hexdigest() in en
    await bot.audit()


async def test_a_live_packets_seed_is_in_no_view_message_or_log_line(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    alice, bob, carol = (bot.updates.user(i, n) for i, n in ((1, "Alice"), (2, "Bob"),
                                                               (3, "Carol")))
    packet_id, message_id = await send_packet(bot, alice, "/hongbao 9 3 secret")
    for member in (bob, carol):
        await bot.press(member, message_id, f"o:{packet_id}")
        await bot.press(member, message_id, f"o:{packet_id}")  # again: "already"
    for viewer in (alice, bob, carol):  # sender and takers, both views
        await private_view(bot, viewer, f"p_{packet_id}")
        await private_view(bot, viewer, f"f_{packet_id}")
        await bot.private(viewer, "/records")
        await bot.private(viewer, "/balance")
    await bot.process(bot.updates.command(bot.group, alice, "/top"))
    await bot.ctx.packets.audit()
    (packet,) = await bot.ctx.store.all_packets()

    def traces(seed: bytes) -> list[str]:
        forms = {seed.hex(), seed.hex().upper(), repr(seed)}
        where = [caplog.text, json.dumps([c.params for c in bot.req.calls], default=str),
                 json.dumps(list(bot.req.messages.values()), default=str)]
        return [form for form in forms for text in where if form in text]

    assert caplog.records and bot.req.calls  # there was something to look at
    assert traces(packet.seed) == []

    # Once the packet is over the seed is shown: the same search finds it.
    await bot.press(bot.updates.user(4, "Dave"), message_id, f"o:{packet_id}")
    await private_view(bot, bob, f"p_{packet_id}")
    assert packet.seed.hex() in traces(packet.seed)
    await bot.audit()


async def test_the_seed_fits_in_a_long_result_view(bot: Bot) -> None:
    bot.req.set_member_count(bot.group["id"], 150)
    alice = bot.updates.user(1, "Alice")
    members = [bot.updates.user(100 + i, f"Member {i} " + "名" * 38) for i in range(100)]
    packet_id, message_id = await send_packet(bot, alice, "/hongbao 100 100")
    for member in members:
        await bot.press(member, message_id, f"o:{packet_id}")
    view = await private_view(bot, alice, f"f_{packet_id}")  # sent: within Telegram's limit
    assert len(view) <= 4096 and "more" in view
    (packet,) = await bot.ctx.store.all_packets()
    assert revealed(view) == packet.seed.hex()
    await bot.audit()

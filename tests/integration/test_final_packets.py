"""A finished or expired packet's shares are final: later presses never reach the gate or SQLite."""

from __future__ import annotations

import asyncio

from core.packets import Member
from core.services import PressAnswer, RedPackets
from storage.gate.redis_gate import RedisGate
from tests.conftest import FakeClock, assert_audit_clean
from tests.integration.helpers import lucky, member, members


async def test_presses_on_a_finished_packet_are_answered_from_memory(
    packets: RedPackets, gate: RedisGate
) -> None:
    sender = member(0)
    packet = await packets.send(lucky(sender, 3, 3_00), key="final")
    crowd = members(3, start=1)
    got = {r.share.member_id: r.share for r in await asyncio.gather(
        *(packets.press(packet.id, m) for m in crowd)) if r.share}
    assert len(got) == 3
    await packets.press(packet.id, member(50))  # too slow: the final shares start loading
    await packets.idle()

    await gate.reset(packet.id)  # were the gate asked, it would have to be rebuilt
    await packets.store.close()  # were the database asked, the press would fail
    turned_away = packets.turned_away[packet.chat_id]
    try:
        late = await packets.press(packet.id, member(60))
        again = await packets.press(packet.id, crowd[0])
    finally:
        await packets.store.open()

    assert late.answer is PressAnswer.TOO_SLOW
    assert again.answer is PressAnswer.ALREADY and again.share == got[crowd[0].id]
    assert await gate.state(packet.id) is None  # the gate was never asked
    assert packets.turned_away[packet.chat_id] == turned_away + 2
    await assert_audit_clean(packets)


async def test_presses_on_an_expired_packet_keep_their_answers(
    packets: RedPackets, clock: FakeClock
) -> None:
    packet = await packets.send(lucky(member(0), 5, 5_00), key="expiring")
    holder = member(1)
    taken = await packets.press(packet.id, holder)
    clock.advance(packet.expires_at - packet.created_at + 1)

    assert (await packets.press(packet.id, member(2))).answer is PressAnswer.EXPIRED
    kept = await packets.press(packet.id, holder)
    assert kept.answer is PressAnswer.ALREADY and kept.share == taken.share
    assert len(await packets.expire_due()) == 1
    assert (await packets.press(packet.id, member(3))).answer is PressAnswer.EXPIRED
    await assert_audit_clean(packets)


async def test_sending_keeps_the_senders_username(packets: RedPackets) -> None:
    alice = Member(77, "Alice", "alice")
    await packets.greet(alice)
    await packets.send(lucky(Member(77, "Alice"), 2, 2_00), key="keeps-username")
    row = await packets.store.fetchone("SELECT username FROM members WHERE id = 77")
    assert row[0] == "alice"
    await assert_audit_clean(packets)


async def test_a_member_granted_money_before_saying_hello_still_gets_the_welcome_bonus(
    packets: RedPackets,
) -> None:
    newcomer = Member(88, "Newcomer")
    await packets.store.credit(newcomer, 5_00, kind="grant", key="grant:88", memo="", now_ms=1)
    assert await packets.greet(newcomer) is True
    assert await packets.store.balance(88) == 5_00 + 100_00
    await assert_audit_clean(packets)

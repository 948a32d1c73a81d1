"""docs/rules.md §6: expiry refunds the rest to this packet's sender, exactly once."""

from __future__ import annotations

from core.packets import Status
from core.services import PressAnswer, RedPackets
from tests.conftest import FakeClock, assert_audit_clean
from tests.integration.helpers import (
    WELCOME_BONUS,
    assert_conserved,
    fixed,
    fund,
    lucky,
    member,
    members,
)

DAY_S = 24 * 3600


async def test_half_taken_packet_expires_and_refunds_the_rest_once(
    packets: RedPackets, clock: FakeClock
) -> None:
    sender = member(0)
    packet = await packets.send(lucky(sender, 10, 50_00), key="half")
    takers = members(5, start=1)
    got = {m.id: await packets.press(packet.id, m) for m in takers}
    assert {r.answer for r in got.values()} == {PressAnswer.GOT}
    taken = sum(r.share.amount for r in got.values() if r.share)
    assert await packets.expire_due() == []  # not yet
    clock.advance(DAY_S + 1)

    late = members(5, start=20)
    for m in late:
        result = await packets.press(packet.id, m)
        assert result.answer is PressAnswer.EXPIRED and result.share is None
    for m in takers:
        result = await packets.press(packet.id, m)
        assert result.answer is PressAnswer.ALREADY
        assert result.share == got[m.id].share
    before = await packets.store.balance(sender.id)

    refunds = await packets.expire_due()

    assert [(r.packet.id, r.amount) for r in refunds] == [(packet.id, 50_00 - taken)]
    assert await packets.store.balance(sender.id) == before + 50_00 - taken
    assert await packets.expire_due() == []
    assert await packets.store.balance(sender.id) == before + 50_00 - taken
    stored = await packets.store.get_packet(packet.id)
    assert stored is not None
    assert (stored.status, stored.refunded, stored.claimed_count) == (Status.EXPIRED, 50_00 - taken, 5)
    assert (await packets.press(packet.id, late[0])).answer is PressAnswer.EXPIRED
    assert len(await packets.store.shares(packet.id)) == 5
    for m in late:
        assert await packets.store.balance(m.id) == 0
    await assert_conserved(packets.store)
    await assert_audit_clean(packets)


async def test_refund_goes_to_this_packets_sender_in_a_shared_sweep(
    packets: RedPackets, clock: FakeClock
) -> None:
    """zhenxun_bot #750: the refund was paid to the next sender instead of this one."""
    alice, bob, carol = member(0), member(1), member(2)
    await fund(packets, bob, 500_00)
    a = await packets.send(lucky(alice, 4, 40_00), key="alice")
    clock.advance(60)
    b = await packets.send(fixed(bob, 5, 30_00), key="bob")
    clock.advance(60)
    c = await packets.send(lucky(carol, 3, 3_00), key="carol")
    await packets.press(a.id, member(10))
    await packets.press(b.id, member(10))
    await packets.press(b.id, member(11))
    for m in members(3, start=10):  # carol's packet finishes: nothing to refund
        await packets.press(c.id, m)
    balances = {p.id: await packets.store.balance(p.id) for p in (alice, bob, carol)}
    a_left = 40_00 - (await packets.store.get_packet(a.id)).claimed_amount  # type: ignore[union-attr]
    clock.advance(DAY_S)

    refunds = await packets.expire_due()

    assert {r.packet.id: (r.packet.sender_id, r.amount) for r in refunds} == {
        a.id: (alice.id, a_left),
        b.id: (bob.id, 90_00),
    }
    assert await packets.store.balance(alice.id) == balances[alice.id] + a_left
    assert await packets.store.balance(bob.id) == balances[bob.id] + 90_00
    assert await packets.store.balance(carol.id) == balances[carol.id]
    rows = await packets.store.fetchall(
        "SELECT packet_id, dst, amount FROM transfers WHERE kind = 'refund' ORDER BY packet_id"
    )
    assert sorted(rows) == sorted([(a.id, f"w:{alice.id}", a_left), (b.id, f"w:{bob.id}", 90_00)])
    assert await packets.expire_due() == []
    await assert_conserved(packets.store)
    await assert_audit_clean(packets)


async def test_untouched_packet_refunds_everything_and_its_gate_is_closed(
    packets: RedPackets, clock: FakeClock
) -> None:
    sender = member(0)
    packet = await packets.send(fixed(sender, 4, 5_00), key="untouched")
    clock.advance(DAY_S)
    refunds = await packets.expire_due()
    assert [(r.packet.id, r.amount) for r in refunds] == [(packet.id, 20_00)]
    assert await packets.store.balance(sender.id) == WELCOME_BONUS
    assert (await packets.press(packet.id, member(5))).answer is PressAnswer.EXPIRED
    assert packets.gate is not None
    assert await packets.gate.state(packet.id) is None
    await assert_audit_clean(packets)

"""2,000 presses at once by 500 members, on real Redis and on the embedded gate."""

from __future__ import annotations

from core.services import PressAnswer, RedPackets
from tests.conftest import assert_audit_clean
from tests.integration.helpers import (
    WELCOME_BONUS,
    assert_conserved,
    assert_storm_outcome,
    fixed,
    fund,
    lucky,
    member,
    members,
    personal,
    storm,
)

CROWD = 500
PRESSES_EACH = 4  # 2,000 presses


async def test_lucky_packet_storm(packets: RedPackets) -> None:
    sender = member(0)
    await fund(packets, sender, 1_000_00)
    crowd = members(CROWD)  # the sender presses too, as people do
    before = {m.id: await packets.store.balance(m.id) for m in crowd}
    packet = await packets.send(lucky(sender, 100, 123_45), key="lucky-storm")
    assert await packets.store.balance(sender.id) == before[sender.id] - 123_45
    before[sender.id] -= 123_45

    results = await storm(packets, packet.id, crowd, PRESSES_EACH)

    assert len(results) == 2_000
    await assert_storm_outcome(packets, packet.id, results, balances_before=before)
    await assert_conserved(packets.store)
    await assert_audit_clean(packets)


async def test_fixed_packet_storm(packets: RedPackets) -> None:
    sender = member(0)
    await fund(packets, sender, 1_000_00)
    crowd = members(CROWD)
    before = {m.id: await packets.store.balance(m.id) for m in crowd}
    packet = await packets.send(fixed(sender, 100, 2_50), key="fixed-storm")
    before[sender.id] -= 250_00

    results = await storm(packets, packet.id, crowd, PRESSES_EACH)

    await assert_storm_outcome(packets, packet.id, results, balances_before=before)
    _, shares = await packets.packet_and_shares(packet.id) or (None, [])
    assert {s.amount for s in shares} == {2_50}
    await assert_conserved(packets.store)
    await assert_audit_clean(packets)


async def test_personal_packet_storm(packets: RedPackets) -> None:
    sender, addressee = member(0), member(1)
    crowd = members(CROWD)  # holds both the sender and the addressee
    before = {m.id: await packets.store.balance(m.id) for m in crowd}
    packet = await packets.send(personal(sender, addressee, 88_88), key="personal-storm")
    before[sender.id] = WELCOME_BONUS - 88_88  # send() greets the sender

    results = await storm(packets, packet.id, crowd, PRESSES_EACH)

    for who, result in results:
        if who.id == addressee.id:
            assert result.answer in (PressAnswer.GOT, PressAnswer.ALREADY)
            assert result.share is not None and result.share.amount == 88_88
        else:
            assert result.answer is PressAnswer.NOT_FOR_YOU, who
    assert sum(1 for _, r in results if r.answer is PressAnswer.GOT) == 1
    found = await packets.packet_and_shares(packet.id)
    assert found is not None
    stored, shares = found
    assert stored.is_finished
    assert [(s.member_id, s.amount) for s in shares] == [(addressee.id, 88_88)]
    for m in crowd:
        paid = 88_88 if m.id == addressee.id else 0
        assert await packets.store.balance(m.id) == before[m.id] + paid
    await assert_conserved(packets.store)
    await assert_audit_clean(packets)


async def test_sender_cannot_take_own_personal_packet(packets: RedPackets) -> None:
    sender, addressee = member(0), member(1)
    packet = await packets.send(personal(sender, addressee, 5_00), key="personal-self")
    result = await packets.press(packet.id, sender)
    assert result.answer is PressAnswer.NOT_FOR_YOU
    assert await packets.store.share_of(packet.id, sender.id) is None
    assert await packets.store.balance(sender.id) == WELCOME_BONUS - 5_00
    assert (await packets.press(packet.id, addressee)).answer is PressAnswer.GOT
    await assert_audit_clean(packets)

"""The audit tells a grab still on its way from a ticket that leaked, and repairs only the leak."""

from __future__ import annotations

import asyncio

from core.services import PressAnswer, RedPackets
from storage.gate.redis_gate import RedisGate, holders_key
from tests.conftest import assert_audit_clean
from tests.integration.helpers import fund, lucky, member


async def test_a_leaked_ticket_is_reported_then_given_back(
    packets: RedPackets, gate: RedisGate
) -> None:
    sender = member(0)
    await fund(packets, sender, 10_00)
    packet = await packets.send(lucky(sender, 2, 2_00), key="leak")
    assert (await packets.press(packet.id, member(1))).answer is PressAnswer.GOT
    await gate.client.sadd(holders_key(packet.id), member(2).id)  # a grab whose open never landed

    report = await packets.audit(repair=False)
    assert any("held 1 ticket(s) with no share" in p for p in report.problems), report.problems

    report = await packets.audit(repair=True)
    assert report.ok and any("given back" in r for r in report.repaired), report
    assert (await packets.press(packet.id, member(3))).answer is PressAnswer.GOT
    await assert_audit_clean(packets)


async def test_grabs_still_on_their_way_are_left_alone(
    packets: RedPackets, gate: RedisGate
) -> None:
    sender = member(0)
    await fund(packets, sender, 100_00)
    packet = await packets.send(lucky(sender, 50, 50_00), key="busy")
    presses = [asyncio.ensure_future(packets.press(packet.id, member(i))) for i in range(1, 40)]
    report = await packets.audit(repair=True)  # runs while the presses are in flight
    results = await asyncio.gather(*presses)
    assert sum(r.answer is PressAnswer.GOT for r in results) == 39
    assert not any("rebuilt" in r for r in report.repaired), report.repaired
    state = await gate.state(packet.id)
    assert state is not None and state.tickets == 11 and len(state.holders) == 39
    await assert_audit_clean(packets)

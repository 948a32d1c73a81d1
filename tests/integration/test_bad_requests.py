"""docs/rules.md §1: every bad amount or count is refused by send(), and nothing moves."""

from __future__ import annotations

import pytest

from core.errors import DomainError, InsufficientFunds
from core.packets import PacketRequest
from core.services import RedPackets
from tests.conftest import assert_audit_clean
from tests.integration.helpers import (
    WELCOME_BONUS,
    fixed,
    lucky,
    member,
    personal,
    snapshot,
)

SENDER = member(0)
OTHER = member(1)

BAD_REQUESTS: list[tuple[str, PacketRequest, str]] = [
    ("total below count x 0.01", lucky(SENDER, 10, 9), "error.total_too_small"),
    ("lucky total 0", lucky(SENDER, 1, 0), "error.total_too_small"),
    ("fixed share 0", fixed(SENDER, 3, 0), "error.total_too_small"),
    ("negative total", lucky(SENDER, 2, -5_00), "error.total_too_small"),
    ("fixed share above 200.00", fixed(SENDER, 2, 200_01), "error.share_too_large"),
    ("lucky single share above 200.00", lucky(SENDER, 1, 200_01), "error.share_too_large"),
    ("lucky average above 200.00", lucky(SENDER, 3, 600_01), "error.share_too_large"),
    ("count above 100", lucky(SENDER, 101, 200_00), "error.count_too_large"),
    ("count above chat members", lucky(SENDER, 6, 6_00, chat_members=5), "error.count_exceeds_members"),
    ("count zero", lucky(SENDER, 0, 1_00), "error.count_format"),
    ("count negative", lucky(SENDER, -3, 1_00), "error.count_format"),
    ("personal packet to self", personal(SENDER, SENDER, 1_00), "error.personal_self"),
    ("personal packet of 2 shares", fixed(SENDER, 2, 1_00, recipient=OTHER), "error.personal_count"),
    ("total above the maximum", fixed(SENDER, 100, 200_01), "error.amount_too_large"),
]


@pytest.mark.parametrize(
    ("request_", "key"), [(r, k) for _, r, k in BAD_REQUESTS], ids=[n for n, _, _ in BAD_REQUESTS]
)
async def test_bad_request_is_refused_and_moves_nothing(
    packets: RedPackets, request_: PacketRequest, key: str
) -> None:
    await packets.greet(SENDER)
    before = await snapshot(packets.store)
    with pytest.raises(DomainError) as refused:
        await packets.send(request_, key="bad")
    assert refused.value.key == key
    assert await snapshot(packets.store) == before
    assert await packets.store.balance(SENDER.id) == WELCOME_BONUS
    await assert_audit_clean(packets)


async def test_the_limits_themselves_are_allowed(packets: RedPackets) -> None:
    """The edges the refusals sit next to: 0.01 × count, 200.00 a share, 100 shares."""
    await packets.greet(SENDER)
    await packets.store.credit(SENDER, 20_000_00, kind="topup", key="big", memo="", now_ms=0)
    await packets.send(lucky(SENDER, 100, 1_00), key="min")  # TTyb/RedEnvelop #1
    await packets.send(fixed(SENDER, 2, 200_00), key="max-share")
    await packets.send(lucky(SENDER, 5, 5_00, chat_members=5), key="members")
    await packets.send(personal(SENDER, OTHER, 200_00), key="personal")
    await assert_audit_clean(packets)


async def test_insufficient_funds_debits_nothing_and_creates_no_packet(packets: RedPackets) -> None:
    await packets.greet(SENDER)
    before = await snapshot(packets.store)
    with pytest.raises(InsufficientFunds) as refused:
        await packets.send(lucky(SENDER, 2, WELCOME_BONUS + 1), key="too-much")
    assert refused.value.key == "error.insufficient_funds"
    assert (refused.value.balance, refused.value.needed) == (WELCOME_BONUS, WELCOME_BONUS + 1)
    assert await snapshot(packets.store) == before
    assert before.packets == 0
    # The same key can be used once the money is there: the refusal left nothing behind.
    await packets.store.credit(SENDER, 1, kind="topup", key="one-cent", memo="", now_ms=0)
    packet = await packets.send(lucky(SENDER, 2, WELCOME_BONUS + 1), key="too-much")
    assert packet.total == WELCOME_BONUS + 1
    assert await packets.store.balance(SENDER.id) == 0
    await assert_audit_clean(packets)


async def test_insufficient_funds_for_a_new_member_keeps_only_the_welcome_bonus(
    packets: RedPackets,
) -> None:
    newcomer = member(7)
    with pytest.raises(InsufficientFunds):
        await packets.send(fixed(newcomer, 2, 60_00), key="newcomer")
    assert await packets.store.balance(newcomer.id) == WELCOME_BONUS
    (rows,) = await packets.store.fetchone("SELECT COUNT(*) FROM packets")
    assert rows == 0
    await assert_audit_clean(packets)

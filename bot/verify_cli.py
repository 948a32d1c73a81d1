"""`redpacket verify`: recompute a packet's split from its revealed seed (docs/fairness.md).

``redpacket verify <packet-id> [--db PATH]`` compares every share the database
holds with what the seed says; ``redpacket verify --seed HEX --rule R --total T
--count N --cap C`` prints the split of any seed, with no database at all.
Exit 0 when every share agrees, 1 when one differs, 2 when nothing could be checked.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.allocation import Rule, full_split
from core.errors import DomainError
from core.fairness import (
    check_parameters,
    check_split,
    commitment,
    may_reveal,
    parse_seed,
)
from core.amount import Cents
from core.money import format_cents, parse_amount
from core.packets import Packet, Share, Status
from core.ids import is_id
from core.services import SystemClock
from storage.sqlite.store import SqliteStore

Print = Callable[[str], None]


class VerifyError(Exception):
    """Nothing could be checked; the message is one line for the terminal."""


@dataclass(frozen=True, slots=True)
class SeedSplit:
    seed: bytes
    rule: Rule
    total: Cents
    count: int
    cap: Cents


def amount_arg(name: str, text: str) -> Cents:
    try:
        return parse_amount(text)
    except DomainError:
        raise VerifyError(
            f"{name} must be an amount like 10 or 10.50 (at most two decimals), not {text!r}"
        ) from None


def seed_split(seed: str, rule: str, total: str, count: int, cap: str) -> SeedSplit:
    try:
        raw = parse_seed(seed)
    except ValueError as exc:
        raise VerifyError(f"--seed: {exc}") from None
    split = SeedSplit(raw, Rule(rule), amount_arg("--total", total), count,
                      amount_arg("--cap", cap))
    try:
        check_parameters(split.rule, split.total, split.count, split.cap)
    except ValueError as exc:
        raise VerifyError(str(exc)) from None
    return split


def print_split(split: SeedSplit, out: Print = print) -> int:
    """The split a seed determines, one position a line."""
    shares = full_split(split.rule, split.seed, split.total, split.count, split.cap)
    out(f"SHA-256 of the seed: {commitment(split.seed)}")
    out(
        f"Split of {format_cents(split.total)} into {split.count} share(s), rule {split.rule.value},"
        f" cap {format_cents(split.cap)}:"
    )
    for position, amount in enumerate(shares, start=1):
        out(f"position {position}: {format_cents(amount)}")
    out(f"sum: {format_cents(sum(shares))}")
    return 0


def describe_status(packet: Packet) -> str:
    return {Status.FINISHED: "finished", Status.EXPIRED: "expired"}.get(packet.status, "over")


def print_check(packet: Packet, shares: list[Share], out: Print = print) -> int:
    """Every position of a packet with "agrees" or "differs"; 0 when all agree."""
    check = check_split(packet, shares)
    out(
        f"Packet {packet.id}: rule {packet.rule.value}, {format_cents(packet.total)} in"
        f" {packet.count} share(s), cap {format_cents(packet.cap)}, {describe_status(packet)}."
    )
    out(f"Seed: {packet.seed.hex()}")
    out(f"SHA-256 of the seed: {commitment(packet.seed)}")
    for position in check.positions:
        seed_says = format_cents(position.expected)
        if position.paid is None:
            out(f"position {position.position}: not taken (refunded); the seed says {seed_says}")
            continue
        verdict = "agrees" if position.agrees else "differs"
        out(
            f"position {position.position}: paid {format_cents(position.paid)},"
            f" the seed says {seed_says}: {verdict}"
        )
    for stray in check.stray:
        out(f"position {stray}: a share this packet cannot have: differs")
    taken = sum(1 for p in check.positions if p.taken)
    if check.all_agree:
        out(f"All {taken} share(s) taken agree with the seed.")
        return 0
    listed = ", ".join(str(p) for p in check.differing)
    out(f"{len(check.differing)} share(s) differ from the seed: position(s) {listed}.")
    return 1


async def load_packet(db: Path, packet_id: str) -> tuple[Packet, list[Share]]:
    if not is_id(packet_id):
        raise VerifyError(f"{packet_id!r} is not a packet id (10 letters and digits)")
    if not db.exists():
        raise VerifyError(f"no database at {db}")
    async with SqliteStore(db) as store:
        packet = await store.get_packet(packet_id)
        if packet is None:
            raise VerifyError(f"no packet {packet_id} in {db}")
        return packet, await store.shares(packet_id)


def verify_packet(db: Path, packet_id: str, *, now_ms: int | None = None,
                  out: Print = print) -> int:
    packet, shares = asyncio.run(load_packet(db, packet_id))
    now = SystemClock().now_ms() if now_ms is None else now_ms
    if not may_reveal(packet, now):
        raise VerifyError(
            f"packet {packet_id} is still live: its seed stays secret until it is finished"
            " or expired, then verify it again"
        )
    return print_check(packet, shares, out)


def run_verify(
    *, packet_id: str | None, db: Path, seed: str | None, rule: str | None,
    total: str | None, count: int | None, cap: str,
) -> int:
    """The ``redpacket verify`` command: exit code, errors as one line on stderr."""
    try:
        if packet_id is not None:
            if seed is not None:
                raise VerifyError("give a packet id or --seed, not both")
            return verify_packet(db, packet_id)
        if seed is None or rule is None or total is None or count is None:
            raise VerifyError(
                "give a packet id, or --seed HEX --rule RULE --total T --count N [--cap C]"
            )
        return print_split(seed_split(seed, rule, total, count, cap))
    except VerifyError as exc:
        print(f"redpacket verify: {exc}", file=sys.stderr)
        return 2

"""Use cases: send, press (grab then open), expire and refund, audit."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from core.allocation import Rule, share_amount
from core.eligibility import DailyCap, Eligibility, Refusal, Refused, Traits
from core.errors import GateUnavailable, StoreUnavailable
from core.gatekeeping import AuditReport, Gatekeeper, Retry
from core.ids import is_id, new_id
from core.amount import Cents
from core.packets import Kind, Limits, Member, Packet, PacketRequest, Share, Status, clip_text, validate_request
from core.ports import Clock, Gate, Grab, OpenOutcome, PacketStore, Refund

MAX_PRESSES_IN_FLIGHT = 10_000  # beyond this, a press is answered "not this time"
PACKET_CACHE_SIZE = 10_000  # packets kept in memory (least recently used goes)
FINAL_CACHE_SIZE = 10_000  # packets whose final shares answer presses from memory
FINAL_CHECKS_REMEMBERED = 50_000  # when each packet was last checked for being over
FINAL_RECHECK_MS = 100  # a packet not over yet is checked again at most this often
LOADING_MS = 3_600_000  # "checked" far ahead while a load runs, so one runs at a time
GREETED_REMEMBERED = 100_000  # members known to be stored; past it, greet() asks again


class SystemClock:
    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


class PressAnswer(StrEnum):
    GOT = "got"
    ALREADY = "already"
    TOO_SLOW = "too_slow"
    EXPIRED = "expired"
    NOT_FOR_YOU = "not_for_you"
    NOT_THIS_TIME = "not_this_time"
    NOT_FOUND = "not_found"
    REFUSED = "refused"  # a chat rule (core.eligibility): see ``refusal``


@dataclass(frozen=True, slots=True)
class PressResult:
    answer: PressAnswer
    packet: Packet | None = None
    share: Share | None = None
    finished: bool = False  # this press took the last share
    refusal: Refusal | None = None


class RedPackets:
    """The red-packet use cases, over a durable store and an optional gate."""

    def __init__(
        self,
        store: PacketStore,
        gate: Gate | None,
        *,
        clock: Clock | None = None,
        limits: Limits = Limits(),
        lucky_rule: Rule = Rule.DOUBLE_MEAN,
        welcome_bonus: Cents = 0,
        gate_timeout_s: float = 1.0,
        max_in_flight: int = MAX_PRESSES_IN_FLIGHT,
        audit_grace_s: float = 2.0,
        eligibility: Eligibility | None = None,
    ) -> None:
        self.store = store
        self.eligibility = eligibility  # who may open and send (None: everyone)
        self.gate = gate
        self.clock = clock or SystemClock()
        self.limits = limits
        self.lucky_rule = lucky_rule
        self.welcome_bonus = welcome_bonus
        self.gate_timeout_s = gate_timeout_s
        self.max_in_flight = max_in_flight
        self.audit_grace_s = audit_grace_s
        self._packets: OrderedDict[str, Packet] = OrderedDict()
        self._presses: dict[tuple[str, int], asyncio.Future[PressResult]] = {}
        self._greeted: set[int] = set()
        self._final: OrderedDict[str, tuple[Packet, dict[int, Share]]] = OrderedDict()
        self._final_checked: dict[str, int] = {}
        # The gate's machine, shared with campaigns; its doubts are grabs that
        # timed out on our side but may have run in Redis.
        self._keeper = Gatekeeper(
            gate, clock=self.clock, timeout_s=gate_timeout_s,
            settle_round=self._settle_round, rebuild=self.rebuild_gate,
        )
        self._leak_checked: dict[str, float] = {}
        # Presses the gate answered without touching the database, per chat.
        self.turned_away: Counter[int] = Counter()

    async def idle(self) -> None:
        """Wait until the background work (final loads, tickets in doubt) is done."""
        await self._keeper.idle()

    async def aclose(self) -> None:
        """Stop background work (final loads, tickets in doubt) before the store closes."""
        await self._keeper.aclose()

    # -- members -------------------------------------------------------------

    async def greet(self, member: Member) -> bool:
        """Record a member on first contact and pay the welcome bonus once."""
        return member.id in await self.greet_many([member])

    def greeted(self, member_id: int) -> bool:
        """Whether this process knows the member is stored (greeting again changes nothing)."""
        return member_id in self._greeted

    async def greet_many(self, members: Sequence[Member]) -> set[int]:
        """``greet`` a crowd in one write (docs/rules.md §10); the ids that were new."""
        todo = sorted({m.id: m for m in members if m.id not in self._greeted}.values(),
                      key=lambda m: m.id)  # one lock order on engines with several writers
        if not todo:
            return set()
        fresh = await self.store.greet_many(todo, self.welcome_bonus, self.clock.now_ms())
        if len(self._greeted) + len(todo) > GREETED_REMEMBERED:
            self._greeted.clear()  # greeting again is harmless: the bonus is keyed per member
        self._greeted.update(m.id for m in todo)
        return {m.id for m, is_new in zip(todo, fresh, strict=True) if is_new}

    # -- sending -------------------------------------------------------------

    async def send(
        self, request: PacketRequest, key: str, *, lucky_rule: Rule | None = None
    ) -> Packet:
        """Debit the sender and create the packet; the same ``key`` never sends twice.

        ``lucky_rule``: the chat's own split rule for lucky packets, if it chose one.
        """
        validate_request(request, self.limits)
        daily = await self._send_rules(request)
        now = self.clock.now_ms()
        rule = Rule.FIXED if request.kind is Kind.FIXED else lucky_rule or self.lucky_rule
        recipient = request.recipient
        packet = Packet(
            id=new_id(),
            chat_id=request.chat_id,
            sender_id=request.sender.id,
            sender_name=clip_text(request.sender.name, self.limits.name_chars),
            kind=request.kind,
            rule=rule,
            total=request.total,
            count=request.count,
            greeting=clip_text(request.greeting, self.limits.greeting_chars),
            created_at=now,
            expires_at=now + self.limits.ttl_ms,
            cap=self.limits.max_share,
            recipient_id=recipient.id if recipient else None,
            recipient_name=clip_text(recipient.name, self.limits.name_chars) if recipient else None,
            seed=secrets.token_bytes(16),
            phrase=request.phrase,
        )
        await self.greet(request.sender)
        stored = await self.store.create_packet(packet, key, daily)
        if stored.id == packet.id and self.gate is not None:  # else rebuilt on the first press
            ttl_ms = self._keeper.ttl_ms(stored.expires_at)
            await self._keeper.quietly(self.gate.prime(stored.id, stored.count, (), ttl_ms))
        return stored

    async def _send_rules(self, request: PacketRequest) -> DailyCap | None:
        """Raise ``Refused`` if a chat rule forbids this send; the daily limit is
        left to the debit's own transaction (a replay of this key must still pass)."""
        if self.eligibility is None:
            return None
        refusal = await self.eligibility.refuse_send(
            request.chat_id, request.sender.id, request.total,
            personal=request.recipient is not None, count_daily=False,
        )
        if refusal is not None:
            raise Refused(refusal)
        return await self.eligibility.daily_cap(request.chat_id)

    # -- pressing ------------------------------------------------------------

    async def press(
        self, packet_id: str, member: Member, traits: Traits | None = None, *,
        pressed_at_ms: int | None = None,
    ) -> PressResult:
        """One press of **Open**: grab in the gate, then open in the database.

        ``pressed_at_ms``: when the press reached the bot (taken by the handler),
        stored with the share for the grabber report.
        """
        if not is_id(packet_id):
            return PressResult(PressAnswer.NOT_FOUND)
        key = (packet_id, member.id)
        running = self._presses.get(key)
        if running is not None:  # a double tap: the first press answers for both
            first = await asyncio.shield(running)  # a cancelled tap must not cancel the first
            if first.answer is PressAnswer.GOT:
                return PressResult(PressAnswer.ALREADY, first.packet, first.share)
            return first
        if len(self._presses) >= self.max_in_flight:
            return PressResult(PressAnswer.NOT_THIS_TIME)
        outcome: asyncio.Future[PressResult] = asyncio.get_running_loop().create_future()
        self._presses[key] = outcome
        result = PressResult(PressAnswer.NOT_THIS_TIME)
        try:
            result = await self._press(
                packet_id, member, traits or Traits(member.id), pressed_at_ms
            )
            return result
        finally:
            del self._presses[key]
            outcome.set_result(result)

    async def _press(
        self, packet_id: str, member: Member, traits: Traits, pressed_at_ms: int | None = None
    ) -> PressResult:
        packet = await self._packet(packet_id)
        if packet is None:
            return PressResult(PressAnswer.NOT_FOUND)
        if packet.is_personal and member.id != packet.recipient_id:
            return PressResult(PressAnswer.NOT_FOR_YOU, packet)
        if self.eligibility is not None:  # before the gate: a refused press costs no ticket
            refusal = await self.eligibility.refuse_open(
                packet.chat_id, packet.id, packet.phrase, traits
            )
            if refusal is not None:
                return PressResult(PressAnswer.REFUSED, packet, refusal=refusal)
        if self.clock.now_ms() >= packet.expires_at and packet_id not in self._final:
            await self._remember_final(packet_id)
        settled = self._final_answer(packet_id, member)
        if settled is not None:
            self.turned_away[packet.chat_id] += 1
            return settled
        if self.gate is not None:
            try:  # the gate's own socket timeout bounds a slow or dead Redis
                early = await self._admit(packet, member)
            except (GateUnavailable, StoreUnavailable):
                # The grab may have run in Redis though its reply never came:
                # settle it against the database once Redis answers again.
                self._keeper.doubts.add(packet_id, member.id)
                return PressResult(PressAnswer.NOT_THIS_TIME, packet)
            if early is not None:
                self.turned_away[packet.chat_id] += 1
                if early.answer is PressAnswer.TOO_SLOW:
                    self._look_for_final(packet_id)
                return early
        opened = None
        try:
            opened = await self.store.open_share(
                packet_id, member, self.clock.now_ms(), pressed_at_ms=pressed_at_ms
            )
        except StoreUnavailable:
            return PressResult(PressAnswer.NOT_THIS_TIME, packet)
        finally:
            if opened is None:  # the open failed (an outage, or a bug on its way up)
                await self._keeper.release(packet_id, member.id)
        outcome = opened.outcome
        packet = opened.packet or packet
        if outcome is OpenOutcome.OPENED:
            if opened.finished:
                self._look_for_final(packet_id)
            return PressResult(PressAnswer.GOT, packet, opened.share, finished=opened.finished)
        if outcome is OpenOutcome.ALREADY:
            return PressResult(PressAnswer.ALREADY, packet, opened.share)
        if outcome is OpenOutcome.EXPIRED:
            return PressResult(PressAnswer.EXPIRED, packet)
        if outcome is OpenOutcome.NOT_FOUND:
            return PressResult(PressAnswer.NOT_FOUND)
        self._look_for_final(packet_id)
        return PressResult(PressAnswer.TOO_SLOW, packet)

    # A packet that is finished or past its time takes no more shares, so its
    # shares are final: once loaded, every later press is answered from memory.

    def _final_answer(self, packet_id: str, member: Member) -> PressResult | None:
        final = self._final.get(packet_id)
        if final is None:
            return None
        packet, shares = final
        share = shares.get(member.id)
        if share is not None:
            return PressResult(PressAnswer.ALREADY, packet, share)
        if packet.status is Status.FINISHED:
            return PressResult(PressAnswer.TOO_SLOW, packet)
        return PressResult(PressAnswer.EXPIRED, packet)

    def _look_for_final(self, packet_id: str) -> None:
        """Load a packet's final shares in the background: one load at a time,
        and at most every ``FINAL_RECHECK_MS`` while the packet turns out not to be over."""
        now = self.clock.now_ms()
        checked = self._final_checked.get(packet_id, 0)
        if packet_id in self._final or now - checked < FINAL_RECHECK_MS:
            return
        if len(self._final_checked) > FINAL_CHECKS_REMEMBERED:
            self._final_checked.clear()
        self._final_checked[packet_id] = now + LOADING_MS  # until the load is done
        self._keeper.spawn(self._remember_final(packet_id))

    async def _remember_final(self, packet_id: str) -> None:
        try:
            packet = await self.store.get_packet(packet_id)
            over = packet is not None and (
                packet.status is not Status.LIVE or self.clock.now_ms() >= packet.expires_at
            )
            shares = await self.store.shares(packet_id) if over else []
        except StoreUnavailable:
            over = False  # an optimisation only: the gate and the database still answer
            packet = None
        self._final_checked[packet_id] = self.clock.now_ms()
        if packet is not None and not over and self.gate is not None:
            # The gate said "none left" but the database has shares left: opens on
            # their way, or tickets whose open never landed (another process
            # crashed or lost its reply). Give back those still unsettled soon.
            self._check_for_leaks(packet_id)
        if not over or packet is None:
            return
        self._final[packet_id] = (packet, {s.member_id: s for s in shares})
        if len(self._final) > FINAL_CACHE_SIZE:
            self._final.popitem(last=False)

    async def _admit(self, packet: Packet, member: Member) -> PressResult | None:
        """Grab a ticket; return an answer if the press ends at the gate."""
        gate, doubts = self.gate, self._keeper.doubts
        assert gate is not None

        async def grab() -> PressResult | Retry | None:
            granted = await gate.grab(packet.id, member.id)
            if granted is Grab.GRANTED:
                return None
            if granted is Grab.EMPTY:
                if packet.id in doubts:  # tickets that may be ours to give back
                    await doubts.settle(packet.id)
                    if await gate.grab(packet.id, member.id) is Grab.GRANTED:
                        return None
                return PressResult(PressAnswer.TOO_SLOW, packet)
            if granted is Grab.MISSING:
                return Retry.REBUILD
            share = await self.store.share_of(packet.id, member.id)
            if share is not None:
                return PressResult(PressAnswer.ALREADY, packet, share)
            # The gate remembers a grab the database never saw (an open that
            # failed, or a flush): give the ticket back and try again.
            return Retry.GIVE_BACK

        return await self._keeper.admit(packet.id, member.id, grab)

    async def _settle_round(self, packet_id: str, member_ids: list[int]) -> bool:
        """Tickets in doubt (``core.doubts``): a holder with no share and no press
        of theirs running here gets the ticket back."""
        assert self.gate is not None
        state = await self.gate.state(packet_id)
        if state is None:
            return False
        settled = {s.member_id for s in await self.store.shares(packet_id)}
        for member_id in member_ids:
            unsettled = member_id in state.holders and member_id not in settled
            if unsettled and (packet_id, member_id) not in self._presses:
                await self.gate.release(packet_id, member_id)
        return True

    def _check_for_leaks(self, packet_id: str) -> None:
        """At most one check per packet every few seconds, in the background."""
        loop = asyncio.get_running_loop()
        if loop.time() - self._leak_checked.get(packet_id, -1e9) < max(self.audit_grace_s, 1.0):
            return
        if len(self._leak_checked) > 10_000:
            self._leak_checked.clear()
        self._leak_checked[packet_id] = loop.time() + 3600  # until the check is done
        self._keeper.spawn(self._give_back_leaks(packet_id))

    async def _give_back_leaks(self, packet_id: str) -> None:
        """Holders without a share now and still after a grace period (an open
        takes milliseconds) took a ticket whose open never landed: give it back."""
        assert self.gate is not None
        try:
            state = await self.gate.state(packet_id)
            if state is None:
                return
            settled = {s.member_id for s in await self.store.shares(packet_id)}
            suspects = state.holders - settled
            if suspects:
                await asyncio.sleep(self.audit_grace_s)
                settled = {s.member_id for s in await self.store.shares(packet_id)}
                for member_id in sorted(suspects - settled):
                    if (packet_id, member_id) not in self._presses:
                        await self.gate.release(packet_id, member_id)
        except (GateUnavailable, StoreUnavailable):
            pass  # the next "none left" or the periodic audit tries again
        finally:
            self._leak_checked[packet_id] = asyncio.get_running_loop().time()

    async def rebuild_gate(self, packet_id: str) -> None:
        """Rebuild one packet's gate from the database (the truth)."""
        assert self.gate is not None
        packet = await self.store.get_packet(packet_id)
        if packet is None:
            return
        shares = await self.store.shares(packet_id)
        live = packet.status is Status.LIVE and self.clock.now_ms() < packet.expires_at
        holders = [s.member_id for s in shares]
        capacity = packet.count if live else len(holders)  # a dead packet has no ticket left
        ttl_ms = self._keeper.ttl_ms(packet.expires_at)
        await self.gate.prime(packet_id, capacity, holders, ttl_ms)

    async def _packet(self, packet_id: str) -> Packet | None:
        cached = self._packets.get(packet_id)
        if cached is not None:
            self._packets.move_to_end(packet_id)
            return cached
        packet = await self.store.get_packet(packet_id)
        if packet is not None:
            self._packets[packet_id] = packet
            if len(self._packets) > PACKET_CACHE_SIZE:
                self._packets.popitem(last=False)
        return packet

    # -- reading -------------------------------------------------------------

    async def packet_and_shares(self, packet_id: str) -> tuple[Packet, list[Share]] | None:
        if not is_id(packet_id):
            return None
        packet = await self.store.get_packet(packet_id)
        if packet is None:
            return None
        return packet, await self.store.shares(packet_id)

    # -- expiry --------------------------------------------------------------

    async def expire_due(self, limit: int = 500) -> list[Refund]:
        """Expire every packet past its time and refund what is left, once."""
        refunds = await self.store.expire_due(self.clock.now_ms(), limit)
        for refund in refunds:
            await self._keeper.reset(refund.packet.id)
        return refunds

    # -- audit ---------------------------------------------------------------

    async def audit(self, *, repair: bool = True) -> AuditReport:
        """docs/rules.md §6: ledger, wallets, escrow, the seeds, and the gate."""
        report = AuditReport(problems=await self.store.ledger_problems())
        packets = await self.store.all_packets()
        report.packets = len(packets)
        unsettled: dict[str, frozenset[int]] = {}
        for packet in packets:
            packet, shares = await self._packet_with_shares(packet)
            report.problems.extend(_packet_problems(packet, shares))
            if self.gate is not None and packet.status is Status.LIVE:
                extra = await self._audit_gate(packet, shares, report, repair)
                if extra:
                    unsettled[packet.id] = extra
        if unsettled:
            await self._audit_extra_holders(unsettled, report, repair)
        return report

    async def _packet_with_shares(self, packet: Packet) -> tuple[Packet, list[Share]]:
        """The packet and its shares as of one moment: shares opened between the
        two reads (a live packet) would look like counters that disagree."""
        for _ in range(5):
            shares = await self.store.shares(packet.id)
            if len(shares) == packet.claimed_count:
                break
            fresh = await self.store.get_packet(packet.id)
            if fresh is None or fresh.claimed_count == packet.claimed_count:
                break  # not a race: the audit reports what it sees
            packet = fresh
        return packet, shares

    async def _audit_gate(
        self, packet: Packet, shares: list[Share], report: AuditReport, repair: bool
    ) -> frozenset[int]:
        """Check one live packet's gate; returns holders the database has no share for."""
        assert self.gate is not None
        state = await self._keeper.audit_state(packet.id, self.gate.state(packet.id), report)
        if state is None:
            return frozenset()  # rebuilt from the database on the next press
        holders = frozenset(s.member_id for s in shares)
        capacity = state.tickets + len(state.holders)
        if capacity == packet.count and holders <= state.holders:
            # Extra holders may be grabs whose open is still on its way.
            return state.holders - holders
        note = (
            f"gate of {packet.id} disagreed with the database "
            f"(tickets {state.tickets} vs {packet.count - len(shares)}, "
            f"holders {len(state.holders)} vs {len(holders)})"
        )
        await self._keeper.drifted(packet.id, note, report, repair=repair)
        return frozenset()

    async def _audit_extra_holders(
        self, unsettled: dict[str, frozenset[int]], report: AuditReport, repair: bool
    ) -> None:
        """Holders still without a share after a grace period took a ticket whose
        open never landed (a crash, a lost reply): give those tickets back."""
        assert self.gate is not None
        await asyncio.sleep(self.audit_grace_s)
        for packet_id, extra in unsettled.items():
            settled = {s.member_id for s in await self.store.shares(packet_id)}
            leaked = sorted(extra - settled)
            if not leaked:
                continue
            note = f"gate of {packet_id} held {len(leaked)} ticket(s) with no share behind them"
            if not repair:
                report.problems.append(note)
                continue
            for member_id in leaked:
                await self.gate.release(packet_id, member_id)
            report.repaired.append(note + ": given back")


def _packet_problems(packet: Packet, shares: list[Share]) -> list[str]:
    problems: list[str] = []
    ordered = sorted(shares, key=lambda s: s.position)
    claimed = 0
    for expected_position, share in enumerate(ordered, start=1):
        if share.position != expected_position:
            problems.append(f"packet {packet.id}: share positions are not 1..n")
            break
        expected = share_amount(
            packet.rule, packet.seed, share.position,
            total=packet.total, count=packet.count, claimed_amount=claimed, cap=packet.cap,
        )
        if share.amount != expected:
            problems.append(
                f"packet {packet.id}: share {share.position} is {share.amount}, "
                f"the seed says {expected}"
            )
        claimed += share.amount
    if claimed != packet.claimed_amount or len(ordered) != packet.claimed_count:
        problems.append(f"packet {packet.id}: counters disagree with its shares")
    if claimed + packet.refunded > packet.total:
        problems.append(f"packet {packet.id}: paid out more than its total")
    if packet.status is Status.FINISHED and len(ordered) != packet.count:
        problems.append(f"packet {packet.id}: finished with {len(ordered)}/{packet.count} shares")
    if packet.status is Status.EXPIRED and packet.refunded != packet.total - claimed:
        problems.append(f"packet {packet.id}: expired but refunded {packet.refunded}")
    return problems

"""The bot's tables beside the ledger, on each engine (a real SQLite file, a real
PostgreSQL database): packet messages and their edit leases, keyboard messages,
who may open, trust, drafts, chat settings, press delays.

The claim race runs two stores (each with its own connections, as two
processes have) on one database, each holding its transaction open after its
claim: exactly one of them may hold the lease.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import pytest

from core.allocation import Rule
from core.chats import ChatRules
from core.drafts import Draft, DraftStatus
from core.eligibility import RuleChoices
from core.packets import Kind, Member, Packet
from storage.sql_store import SqlConnection, SqlStore
from storage.sqlite.chats import ChatSettings
from storage.sqlite.drafts import Drafts
from storage.sqlite.keyboards import KEEP_MS, Keyboard, KeyboardMessages
from storage.sqlite.packet_messages import ClaimOutcome, PacketMessages
from storage.sqlite.press_delays import appeared_at_ms
from storage.sqlite.standing import ChatStanding
from storage.sqlite.trust import Trust
from storage.stores import Store, store_for

T = TypeVar("T")

CHAT = -100
ALICE, BOB, CAROL = Member(1, "Alice", "alice"), Member(2, "Bob"), Member(3, "Carol")
HOUR_MS = 3_600_000


async def new_packet(store: Store, pid: str, count: int = 2, total: int = 4_00,
                     now_ms: int = 1_000, phrase: str = "") -> Packet:
    """A live fixed packet of ALICE's in CHAT, straight through the store."""
    await store.credit(ALICE, total, kind="grant", key=f"grant:{pid}", memo="", now_ms=now_ms)
    packet = Packet(
        id=pid, chat_id=CHAT, sender_id=ALICE.id, sender_name=ALICE.name, kind=Kind.FIXED,
        rule=Rule.FIXED, total=total, count=count, greeting="", created_at=now_ms,
        expires_at=now_ms + 24 * HOUR_MS, cap=total, seed=bytes(16), phrase=phrase,
    )
    return await store.create_packet(packet, f"key:{pid}")


async def versions(store: Store, message_id: int) -> tuple[int, int, int]:
    row = await store.fetchone(
        "SELECT wanted, shown, current FROM packet_messages WHERE chat_id = ? AND message_id = ?",
        (CHAT, message_id),
    )
    return tuple(row)


# -- packet messages ------------------------------------------------------------


async def test_a_share_makes_the_current_message_stale_and_send_again_demotes_the_old(
    store: Store,
) -> None:
    messages = PacketMessages(store)
    packet = await new_packet(store, "pm00000001", count=3)
    await messages.add(CHAT, 10, packet.id, shows=(0, "live"))
    await messages.add(CHAT, 10, packet.id, shows=(0, "live"))  # a replay changes nothing
    assert await versions(store, 10) == (1, 1, 1)
    assert await messages.stale(packet.id, now_ms=2_000) == []
    assert await messages.packet_of(CHAT, 10) == packet.id

    await store.open_share(packet.id, BOB, 2_000)
    assert await versions(store, 10) == (2, 1, 1)  # the trigger: a share wants a new render
    # Posted showing an older state than the packet's: stale from the start.
    await messages.add(CHAT, 11, packet.id, shows=(0, "live"))
    assert await versions(store, 11) == (1, 0, 1)
    assert await versions(store, 10) == (3, 1, 0)  # now a pointer to the newest message
    await store.open_share(packet.id, CAROL, 3_000)
    assert await versions(store, 10) == (3, 1, 0)  # a share changes only the current one
    assert await versions(store, 11) == (2, 0, 1)
    stale = await messages.stale(packet.id, now_ms=3_000)
    assert {(s.message_id, s.over) for s in stale} == {(10, False), (11, False)}
    assert await messages.stale_packets(10) == [packet.id]


async def test_claim_lease_render_and_shown(store: Store) -> None:
    messages = PacketMessages(store)
    packet = await new_packet(store, "pm00000002")
    await messages.add(CHAT, 20, packet.id)  # not known to be up to date: stale
    first = await messages.claim(CHAT, 20, "a", now_ms=1_000, lease_ms=5_000, interval_ms=0)
    assert (first.outcome, first.version, first.current) == (ClaimOutcome.CLAIMED, 1, True)
    held = await messages.claim(CHAT, 20, "b", now_ms=2_000, lease_ms=5_000, interval_ms=0)
    assert (held.outcome, held.until_ms) == (ClaimOutcome.HELD, 6_000)
    assert not await messages.renew(CHAT, 20, "b", 9_000)
    assert await messages.renew(CHAT, 20, "a", 9_000)
    await messages.shown(CHAT, 20, "b", 1, now_ms=3_000)  # not b's lease: nothing changes
    assert await versions(store, 20) == (1, 0, 1)
    await messages.shown(CHAT, 20, "a", 1, now_ms=3_000)
    assert await versions(store, 20) == (1, 1, 1)
    clean = await messages.claim(CHAT, 20, "b", now_ms=3_500, lease_ms=5_000, interval_ms=0)
    assert clean.outcome is ClaimOutcome.CLEAN

    await store.open_share(packet.id, BOB, 4_000)
    soon = await messages.claim(CHAT, 20, "b", now_ms=4_000, lease_ms=5_000, interval_ms=2_000)
    assert (soon.outcome, soon.until_ms) == (ClaimOutcome.TOO_SOON, 5_000)
    again = await messages.claim(CHAT, 20, "b", now_ms=5_000, lease_ms=5_000, interval_ms=2_000)
    assert (again.outcome, again.version) == (ClaimOutcome.CLAIMED, 2)
    await messages.release(CHAT, 20, "b")
    lapsed = await messages.claim(CHAT, 20, "c", now_ms=5_001, lease_ms=5_000, interval_ms=0)
    assert lapsed.outcome is ClaimOutcome.CLAIMED
    await messages.gone(CHAT, 20)
    assert await messages.stale(packet.id, now_ms=6_000) == []
    gone = await messages.claim(CHAT, 20, "c", now_ms=6_000, lease_ms=5_000, interval_ms=0)
    assert gone.outcome is ClaimOutcome.CLEAN


class HoldsItsTransaction:
    """A real store whose every write keeps its batch's transaction open until the
    other store's write ran too (or ``hold_s`` passed): both claims overlap."""

    def __init__(self, store: Store, barrier: threading.Barrier, hold_s: float) -> None:
        self.store, self.barrier, self.hold_s = store, barrier, hold_s

    async def write(self, fn: Callable[[SqlConnection], T]) -> T:
        def held(conn: SqlConnection) -> T:
            result = fn(conn)
            try:
                self.barrier.wait(self.hold_s)
            except threading.BrokenBarrierError:
                pass  # the other one waits for our lock: commit, and let it go on
            return result

        return await self.store.write(held)

    async def fetchall(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        return await self.store.fetchall(sql, params)

    async def fetchone(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return await self.store.fetchone(sql, params)


@pytest.fixture
async def second_store(database_url: str, store: Store) -> AsyncIterator[Store]:
    """Another store on the test's database: its own connections, as another process."""
    async with store_for(database_url) as other:
        yield other


async def test_two_stores_racing_for_a_claim_give_it_to_exactly_one(
    store: Store, second_store: Store
) -> None:
    packet = await new_packet(store, "pm00000003")
    await PacketMessages(store).add(CHAT, 30, packet.id)
    for round_ in range(3):
        barrier = threading.Barrier(2)
        editors: list[SqlStore] = [
            HoldsItsTransaction(store, barrier, 0.5), HoldsItsTransaction(second_store, barrier, 0.5)
        ]
        now = 10_000 * (round_ + 1)
        claims = await asyncio.gather(*(
            PacketMessages(editor).claim(CHAT, 30, f"editor{n}", now_ms=now, lease_ms=5_000,
                                         interval_ms=0)
            for n, editor in enumerate(editors)
        ))
        outcomes = sorted(c.outcome for c in claims)
        assert outcomes == [ClaimOutcome.CLAIMED, ClaimOutcome.HELD], claims
        holder = await store.fetchone(
            "SELECT lease_owner FROM packet_messages WHERE chat_id = ? AND message_id = ?",
            (CHAT, 30),
        )
        winner = [n for n, c in enumerate(claims) if c.outcome is ClaimOutcome.CLAIMED][0]
        assert holder[0] == f"editor{winner}"
        await PacketMessages(store).release(CHAT, 30, f"editor{winner}")


class ClaimsThenTouchesThePacket:
    """A real PostgreSQL store whose write, after its claim, waits until another
    connection waits for a lock, then changes the claimed message's packet in the
    same transaction (as an open of that packet later in the batch would)."""

    def __init__(self, store: Store, url: str, packet_id: str) -> None:
        self.store, self.url, self.packet_id = store, url, packet_id
        self.claimed = threading.Event()

    async def write(self, fn: Callable[[SqlConnection], T]) -> T:
        def then_touch(conn: SqlConnection) -> T:
            result = fn(conn)
            self.claimed.set()
            wait_for_a_lock_waiter(self.url)
            conn.execute("UPDATE packets SET refunded = refunded WHERE id = ?", (self.packet_id,))
            return result

        return await self.store.write(then_touch)

    async def fetchall(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        return await self.store.fetchall(sql, params)

    async def fetchone(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return await self.store.fetchone(sql, params)


def wait_for_a_lock_waiter(url: str, timeout_s: float = 5.0) -> None:
    import psycopg

    deadline = time.monotonic() + timeout_s
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            ).fetchone()
            if row and row[0]:
                return
            time.sleep(0.01)
    raise AssertionError("the other connection never waited for a lock")


async def test_an_edit_and_a_share_of_one_packet_on_two_connections_never_deadlock(
    db_kind: str, database_url: str, store: Store, second_store: Store
) -> None:
    """The share locks the packet, then (its trigger) the packet's messages; the
    claim takes them in the same order, so the share waits instead of closing a
    circle that PostgreSQL breaks by failing one of them a second later."""
    if db_kind != "postgres":
        pytest.skip("SQLite's writer holds the whole database: no two writes interleave")
    packet = await new_packet(store, "pm00000004", count=3)
    await PacketMessages(store).add(CHAT, 35, packet.id)
    editor = ClaimsThenTouchesThePacket(store, database_url, packet.id)
    claim = asyncio.create_task(PacketMessages(editor).claim(
        CHAT, 35, "editor", now_ms=1_000, lease_ms=5_000, interval_ms=0))
    await asyncio.to_thread(editor.claimed.wait, 5)
    opened = await second_store.open_share(packet.id, BOB, 2_000)
    assert (await claim).outcome is ClaimOutcome.CLAIMED
    assert opened.share is not None
    assert (store.writer.retries, second_store.writer.retries) == (0, 0)  # nobody deadlocked
    assert await versions(store, 35) == (2, 0, 1)


# -- keyboard messages -----------------------------------------------------------


async def test_keyboard_messages_are_remembered_checked_and_pruned(store: Store) -> None:
    keyboards = KeyboardMessages(store)
    await keyboards.remember(CHAT, 40, Keyboard.LANG, None, now_ms=1_000)
    await keyboards.remember(CHAT, 41, Keyboard.RECORDS, BOB.id, now_ms=2_000)
    assert await keyboards.is_a(CHAT, 40, Keyboard.LANG, now_ms=3_000)
    assert not await keyboards.is_a(CHAT, 40, Keyboard.RECORDS, now_ms=3_000)
    assert await keyboards.is_a(CHAT, 41, Keyboard.RECORDS, now_ms=3_000, owner_id=BOB.id)
    assert not await keyboards.is_a(CHAT, 41, Keyboard.RECORDS, now_ms=3_000, owner_id=ALICE.id)
    await keyboards.remember(CHAT, 41, Keyboard.LANG, None, now_ms=3_000)  # the message reused
    assert (await keyboards.find(CHAT, 41)).kind == Keyboard.LANG
    later = 1_500 + KEEP_MS
    await keyboards.remember(CHAT, 42, Keyboard.LANG, None, now_ms=later)
    assert await keyboards.find(CHAT, 40) is None  # older than KEEP_MS: pruned
    assert await keyboards.find(CHAT, 41) is not None


# -- who may open ----------------------------------------------------------------


async def test_chat_standing_rules_joins_blocks_unlocks_and_sends(store: Store) -> None:
    standing = ChatStanding(store)
    assert await standing.rule_choices(CHAT) == RuleChoices()
    choices = RuleChoices(6, True, 50_00, False)
    await standing.set_rule_choices(CHAT, choices, now_ms=1)
    assert await standing.rule_choices(CHAT) == choices
    await standing.set_rule_choices(CHAT, RuleChoices(None, None, None, True), now_ms=2)
    assert await standing.rule_choices(CHAT) == RuleChoices(None, None, None, True)

    assert await standing.joined_at(CHAT, BOB.id) is None
    await standing.record_join(CHAT, BOB.id, 5_000)
    await standing.record_join(CHAT, BOB.id, 4_000)  # an older join, seen late: ignored
    assert await standing.joined_at(CHAT, BOB.id) == 5_000
    await standing.record_join(CHAT, BOB.id, 9_000)  # left and came back: the wait restarts
    assert await standing.joined_at(CHAT, BOB.id) == 9_000

    await store.greet(BOB, 0, 1)
    assert await standing.block(CHAT, BOB.id, "Bob", ALICE.id, 10)
    assert not await standing.block(CHAT, BOB.id, "Bob", ALICE.id, 11)
    assert await standing.block(CHAT, CAROL.id, "Carol", ALICE.id, 12)
    assert sorted(await standing.blocked_ids(CHAT)) == [BOB.id, CAROL.id]
    assert await standing.blocked_members(CHAT) == [Member(BOB.id, "Bob"), Member(CAROL.id, "Carol")]
    assert await standing.unblock(CHAT, BOB.id)
    assert not await standing.unblock(CHAT, BOB.id)
    assert await standing.blocked_ids(CHAT) == [CAROL.id]

    packet = await new_packet(store, "st00000001", total=3_00, now_ms=HOUR_MS)
    await store.set_message(packet.id, 77)
    assert await standing.packet_at(CHAT, 77) == packet.id
    assert await standing.packet_at(CHAT, 78) is None
    assert await standing.sent_since(CHAT, ALICE.id, HOUR_MS) == 3_00
    assert type(await standing.sent_since(CHAT, ALICE.id, HOUR_MS)) is int
    assert await standing.sent_since(CHAT, ALICE.id, HOUR_MS + 1) == 0
    assert not await standing.is_unlocked(packet.id, BOB.id)
    assert await standing.unlock(packet.id, BOB.id, 5)
    assert not await standing.unlock(packet.id, BOB.id, 6)
    assert await standing.is_unlocked(packet.id, BOB.id)


async def test_a_password_packet_appears_to_a_member_at_their_unlock(store: Store) -> None:
    packet = await new_packet(store, "pd00000001", phrase="open sesame")
    plain = await new_packet(store, "pd00000002")

    def appeared(p: Packet, member_id: int, posted: int | None) -> Callable[[Any], Any]:
        return lambda conn: appeared_at_ms(conn, p, member_id, posted)

    assert await store.write(appeared(plain, BOB.id, 1_000)) == 1_000
    assert await store.write(appeared(packet, BOB.id, 1_000)) == 1_000  # not unlocked (yet)
    await ChatStanding(store).unlock(packet.id, BOB.id, 4_000)
    assert await store.write(appeared(packet, BOB.id, 1_000)) == 4_000
    assert await store.write(appeared(packet, BOB.id, None)) == 4_000
    assert await store.write(appeared(packet, BOB.id, 5_000)) == 5_000


# -- trust -----------------------------------------------------------------------


async def test_trust_press_facts_and_leaderboard(store: Store) -> None:
    trust = Trust(store)
    await store.greet(BOB, 0, 1)
    await store.greet(CAROL, 0, 1)
    packet = await new_packet(store, "tr00000001", count=3, total=6_00)
    await store.open_share(packet.id, BOB, 2_000)
    await store.open_share(packet.id, CAROL, 3_000)
    await store.open_share(packet.id, ALICE, 4_000)  # the sender's own press says nothing
    facts = await trust.press_facts(CHAT, since_ms=0)
    assert [(f.member_id, f.position) for f in facts] == [(BOB.id, 1), (CAROL.id, 2)]
    board = await trust.leaderboard(CHAT, None, top=5)
    assert [(leader.member_id, leader.name) for leader in board.senders] == [(ALICE.id, "Alice")]
    assert board.senders[0].amount == 6_00 and type(board.senders[0].amount) is int
    assert board.best_luck == []  # a fixed packet has no best luck
    assert (await trust.leaderboard(CHAT, 10**13, top=5)).senders == []


# -- drafts and chat settings ----------------------------------------------------


def draft(command_id: int, **changes: Any) -> Draft:
    values: dict[str, Any] = dict(
        chat_id=CHAT, command_message_id=command_id, message_id=None, sender=ALICE,
        kind=Kind.LUCKY, amount=5_00, count=3, greeting="gōng xǐ", recipient=None,
        chat_members=12, lang="zh", total_changed=False, status=DraftStatus.OPEN,
        packet_id=None, created_at=1_000, phrase="",
    )
    values.update(changes)
    return Draft(**values)


async def test_drafts_replays_and_send_against_cancel(store: Store) -> None:
    drafts = Drafts(store)
    first = draft(50, recipient=Member(BOB.id, "Bob", "bobby"), phrase="pw")
    assert await drafts.create(first)
    assert not await drafts.create(first)  # a replayed command
    await drafts.attach_message(CHAT, 50, 51)
    stored = await drafts.by_message(CHAT, 51)
    assert stored == draft(50, message_id=51, recipient=Member(BOB.id, "Bob", "bobby"),
                           phrase="pw")
    assert await drafts.by_command(CHAT, 50) == stored
    switched = draft(50, kind=Kind.FIXED, amount=1_00, total_changed=True)
    assert await drafts.update_open(switched)
    claimed = await asyncio.gather(drafts.claim(stored, DraftStatus.SENT),
                                   drafts.claim(stored, DraftStatus.CANCELLED))
    assert claimed == [True, False]
    assert not await drafts.update_open(switched)  # sent meanwhile
    assert await drafts.reopen(stored)  # the send was refused: open again
    assert await drafts.claim(stored, DraftStatus.SENT)
    await drafts.sent_as(stored, "dr00000001")
    assert not await drafts.reopen(stored)  # sent as a packet: stays sent
    assert await drafts.lang_of_packet("dr00000001") == "zh"
    again = await drafts.by_command(CHAT, 50)
    assert (again.kind, again.amount, again.status, again.packet_id) == (
        Kind.FIXED, 1_00, DraftStatus.SENT, "dr00000001")
    assert await drafts.create(draft(60))
    assert await drafts.close(draft(60), DraftStatus.CANCELLED)
    assert not await drafts.close(draft(60), DraftStatus.SENT, "x")


async def test_chat_settings_lang_and_rules(store: Store) -> None:
    clock = [0]
    chats = ChatSettings(store, lambda: clock[0])
    assert await chats.lang(CHAT) is None
    assert await chats.rules(CHAT) == ChatRules(None, None)
    await chats.set_lang(CHAT, "zh", 1)
    await chats.set_rules(CHAT, ChatRules(Rule.SEGMENT, 2_00), 2)
    fresh = ChatSettings(store, lambda: clock[0])  # another process: reads the table
    assert await fresh.lang(CHAT) == "zh"
    assert await fresh.rules(CHAT) == ChatRules(Rule.SEGMENT, 2_00)
    await chats.set_lang(CHAT, None, 3)  # back to each member's language
    assert await ChatSettings(store).lang(CHAT) is None
    assert await fresh.lang(CHAT) == "zh"  # cached for a few seconds...
    clock[0] += ChatSettings.CACHE_AGE_MS + 1
    assert await fresh.lang(CHAT) is None  # ...never for good

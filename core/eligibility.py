"""Who may open, shake and send in a chat (docs/rules.md, "Who may open").

The rules are pure functions over the member (``Traits``), the chat's rules
(``ChatRules``) and what the store knows (``Standing``: when the member was
seen joining, whether they are blocked; whether they unlocked a password
packet; what they sent today). ``Eligibility`` gathers those facts through the
``StandingStore`` port and asks the rules; the press, shake and send use cases
call it before the gate or the ledger is touched, so a refusal moves nothing.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from core.errors import DomainError
from core.amount import Amount, Cents

if TYPE_CHECKING:
    from core.ports import Clock, StandingStore

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
MAX_NEWCOMER_HOURS = 24 * 365
PHRASE_CHARS = 32
# Facts other processes may change (rules, blocks) are re-read after this long;
# changes made through this process apply to the very next press.
FACTS_TTL_MS = 1_000
_CACHE_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class Traits:
    """What Telegram says about the member pressing, shaking or sending."""

    id: int
    is_premium: bool = False
    is_bot: bool = False


@dataclass(frozen=True, slots=True)
class ChatRules:
    """A chat's rules as they apply now (the chat's choices over the defaults)."""

    newcomer_hours: int = 0  # 0: newcomers may open at once
    premium_only: bool = False
    daily_limit: Cents = 0  # 0: no limit
    personal: bool = True


@dataclass(frozen=True, slots=True)
class RuleChoices:
    """What a chat chose; ``None`` follows the deployment's defaults."""

    newcomer_hours: int | None = None
    premium_only: bool | None = None
    daily_limit: Cents | None = None
    personal: bool | None = None

    def over(self, defaults: ChatRules) -> ChatRules:
        return ChatRules(
            newcomer_hours=_pick(self.newcomer_hours, defaults.newcomer_hours),
            premium_only=_pick(self.premium_only, defaults.premium_only),
            daily_limit=_pick(self.daily_limit, defaults.daily_limit),
            personal=_pick(self.personal, defaults.personal),
        )


def _pick(choice: Any, default: Any) -> Any:
    return default if choice is None else choice


@dataclass(frozen=True, slots=True)
class Standing:
    """What the store knows of one member in one chat."""

    joined_at: int | None = None  # None: the bot never saw them join (established)
    blocked: bool = False


@dataclass(frozen=True, slots=True)
class DailyCap:
    """The most a member may still send in a chat since ``since_ms`` (a UTC midnight)."""

    limit: Cents
    since_ms: int


class Reason(StrEnum):
    BOT = "bot"  # a bot pressed
    BLOCKED = "blocked"
    NEWCOMER = "newcomer"  # may not open or shake yet
    NEWCOMER_SEND = "newcomer_send"
    PREMIUM = "premium"
    LOCKED = "locked"  # a password packet not unlocked yet
    PERSONAL_OFF = "personal_off"
    DAILY_LIMIT = "daily_limit"


@dataclass(frozen=True, slots=True)
class Refusal:
    """Which rule refused, with what the member needs to know to change it."""

    reason: Reason
    hours: int = 0
    wait_ms: int = 0
    phrase: str = ""
    limit: Cents = 0
    sent: Cents = 0

    @property
    def key(self) -> str:
        return f"rules.refused.{self.reason.value}"

    @property
    def params(self) -> dict[str, Any]:
        if self.reason in (Reason.NEWCOMER, Reason.NEWCOMER_SEND):
            minutes = -(-self.wait_ms // 60_000)  # rounded up: never "0 min left"
            return {"hours": self.hours, "left_h": minutes // 60, "left_m": minutes % 60}
        if self.reason is Reason.LOCKED:
            return {"phrase": self.phrase}
        if self.reason is Reason.DAILY_LIMIT:
            return {
                "limit": Amount(self.limit), "sent": Amount(self.sent),
                "left": Amount(max(self.limit - self.sent, 0)),
            }
        return {}


class Refused(DomainError):
    """A send refused by a chat rule; carries the ``Refusal``."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.key, **refusal.params)
        self.refusal = refusal


# -- the rules (pure) ----------------------------------------------------------


def newcomer_wait_ms(rules: ChatRules, standing: Standing, now_ms: int) -> int:
    """How long until this member counts as established in the chat (0: already)."""
    if rules.newcomer_hours <= 0 or standing.joined_at is None:
        return 0
    return max(standing.joined_at + rules.newcomer_hours * HOUR_MS - now_ms, 0)


def may_take(
    traits: Traits, rules: ChatRules, standing: Standing, now_ms: int
) -> Refusal | None:
    """May this member open a packet or shake in the chat? ``None``: yes."""
    if traits.is_bot:
        return Refusal(Reason.BOT)
    if standing.blocked:
        return Refusal(Reason.BLOCKED)
    wait = newcomer_wait_ms(rules, standing, now_ms)
    if wait:
        return Refusal(Reason.NEWCOMER, hours=rules.newcomer_hours, wait_ms=wait)
    if rules.premium_only and not traits.is_premium:
        return Refusal(Reason.PREMIUM)
    return None


def may_open(
    traits: Traits, rules: ChatRules, standing: Standing, now_ms: int,
    *, phrase: str = "", unlocked: bool = False,
) -> Refusal | None:
    """``may_take``, then a password packet's phrase must have been replied first."""
    refusal = may_take(traits, rules, standing, now_ms)
    if refusal is None and phrase and not unlocked:
        return Refusal(Reason.LOCKED, phrase=phrase)
    return refusal


def may_send(
    rules: ChatRules, standing: Standing, now_ms: int, *, total: Cents, sent_today: Cents,
    personal: bool,
) -> Refusal | None:
    """May this member send a packet of ``total`` in the chat? ``None``: yes.
    (A packet addressed to a bot is refused earlier, where the bot layer still
    knows the addressee is one: ``bot.handlers.send``.)"""
    wait = newcomer_wait_ms(rules, standing, now_ms)
    if wait:
        return Refusal(Reason.NEWCOMER_SEND, hours=rules.newcomer_hours, wait_ms=wait)
    if personal and not rules.personal:
        return Refusal(Reason.PERSONAL_OFF)
    return over_daily_limit(rules.daily_limit, sent_today, total)


def over_daily_limit(limit: Cents, sent_today: Cents, total: Cents) -> Refusal | None:
    if limit and sent_today + total > limit:
        return Refusal(Reason.DAILY_LIMIT, limit=limit, sent=sent_today)
    return None


def utc_day_start(now_ms: int) -> int:
    return now_ms - now_ms % DAY_MS


# -- password phrases ------------------------------------------------------------

_SPACES = re.compile(r"\s+")


def normalize_phrase(text: str) -> str:
    """What a reply must match: Unicode width folded (NFKC), case folded,
    punctuation dropped, spaces collapsed and trimmed."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    kept = "".join(c for c in folded if not unicodedata.category(c).startswith("P"))
    return _SPACES.sub(" ", kept).strip()


def phrase_matches(phrase: str, reply: str) -> bool:
    wanted = normalize_phrase(phrase)
    return bool(wanted) and normalize_phrase(reply) == wanted


def clean_phrase(text: str) -> str:
    """The phrase as the packet will show it; ``DomainError`` if empty or too long."""
    phrase = _SPACES.sub(" ", text).strip()
    if not normalize_phrase(phrase):
        raise DomainError("rules.phrase_empty")
    if len(phrase) > PHRASE_CHARS:
        raise DomainError("rules.phrase_too_long", maximum=PHRASE_CHARS, length=len(phrase))
    return phrase


# -- gathering the facts -----------------------------------------------------------


class Eligibility:
    """Asks the rules with facts from the store; every write goes through here so
    this process applies a change to the next press."""

    def __init__(self, store: StandingStore, defaults: ChatRules, clock: Clock) -> None:
        self.store = store
        self.defaults = defaults
        self.clock = clock
        self._choices: OrderedDict[int, tuple[int, RuleChoices]] = OrderedDict()
        self._blocked: OrderedDict[int, tuple[int, frozenset[int]]] = OrderedDict()
        self._unlocked: OrderedDict[tuple[str, int], None] = OrderedDict()
        self._reading: dict[tuple[int, int], asyncio.Future[Any]] = {}
        self._writes = 0

    # -- reading ---------------------------------------------------------------

    async def choices(self, chat_id: int) -> RuleChoices:
        return await self._fresh(self._choices, chat_id, self.store.rule_choices)

    async def rules(self, chat_id: int) -> ChatRules:
        return (await self.choices(chat_id)).over(self.defaults)

    async def blocked(self, chat_id: int) -> frozenset[int]:
        return await self._fresh(self._blocked, chat_id, self._load_blocked)

    async def _load_blocked(self, chat_id: int) -> frozenset[int]:
        return frozenset(await self.store.blocked_ids(chat_id))

    async def _fresh(
        self, cache: OrderedDict[int, tuple[int, Any]], chat_id: int,
        load: Callable[[int], Awaitable[Any]],
    ) -> Any:
        """The cached fact, re-read after ``FACTS_TTL_MS``; a storm of presses
        waits for one read instead of each starting its own."""
        cached = cache.get(chat_id)
        if cached is not None and self.clock.now_ms() - cached[0] < FACTS_TTL_MS:
            return cached[1]
        key = (id(cache), chat_id)
        reading = self._reading.get(key)
        if reading is None:
            reading = asyncio.ensure_future(self._read(cache, chat_id, load))
            self._reading[key] = reading
            reading.add_done_callback(lambda done: self._done_reading(key, done))
        return await asyncio.shield(reading)

    async def _read(
        self, cache: OrderedDict[int, tuple[int, Any]], chat_id: int,
        load: Callable[[int], Awaitable[Any]],
    ) -> Any:
        started, writes = self.clock.now_ms(), self._writes
        value = await load(chat_id)
        if writes == self._writes:  # a change made meanwhile must not be hidden by this read
            _remember(cache, chat_id, (started, value))
        return value

    def _done_reading(self, key: tuple[int, int], done: asyncio.Future[Any]) -> None:
        if self._reading.get(key) is done:
            del self._reading[key]

    def _forget(self, cache: OrderedDict[int, tuple[int, Any]], chat_id: int) -> None:
        self._writes += 1
        cache.pop(chat_id, None)
        self._reading.pop((id(cache), chat_id), None)

    async def standing(self, chat_id: int, member_id: int, rules: ChatRules) -> Standing:
        blocked = member_id in await self.blocked(chat_id)
        joined_at = (
            await self.store.joined_at(chat_id, member_id) if rules.newcomer_hours > 0 else None
        )
        return Standing(joined_at=joined_at, blocked=blocked)

    async def is_unlocked(self, packet_id: str, member_id: int) -> bool:
        key = (packet_id, member_id)
        if key in self._unlocked:
            return True
        if not await self.store.is_unlocked(packet_id, member_id):
            return False
        _remember(self._unlocked, key, None)  # an unlock is for good
        return True

    # -- the checks ------------------------------------------------------------

    async def refuse_open(
        self, chat_id: int, packet_id: str, phrase: str, traits: Traits
    ) -> Refusal | None:
        rules = await self.rules(chat_id)
        standing = await self.standing(chat_id, traits.id, rules)
        now = self.clock.now_ms()
        refusal = may_take(traits, rules, standing, now)
        if refusal is not None or not phrase:
            return refusal
        unlocked = await self.is_unlocked(packet_id, traits.id)
        return may_open(traits, rules, standing, now, phrase=phrase, unlocked=unlocked)

    async def refuse_shake(self, chat_id: int, traits: Traits) -> Refusal | None:
        rules = await self.rules(chat_id)
        standing = await self.standing(chat_id, traits.id, rules)
        return may_take(traits, rules, standing, self.clock.now_ms())

    async def refuse_send(
        self, chat_id: int, sender_id: int, total: Cents, *, personal: bool,
        count_daily: bool = True,
    ) -> Refusal | None:
        """``count_daily=False`` leaves the daily limit to the debit's transaction."""
        rules = await self.rules(chat_id)
        standing = await self.standing(chat_id, sender_id, rules)
        now = self.clock.now_ms()
        sent = (
            await self.store.sent_since(chat_id, sender_id, utc_day_start(now))
            if rules.daily_limit and count_daily else 0
        )
        if not count_daily:
            rules = replace(rules, daily_limit=0)
        return may_send(rules, standing, now, total=total, sent_today=sent, personal=personal)

    async def daily_cap(self, chat_id: int) -> DailyCap | None:
        """What the debit's transaction must re-check, if the chat has a daily limit."""
        rules = await self.rules(chat_id)
        if not rules.daily_limit:
            return None
        return DailyCap(rules.daily_limit, utc_day_start(self.clock.now_ms()))

    # -- writing ---------------------------------------------------------------

    async def set_choices(self, chat_id: int, choices: RuleChoices) -> None:
        await self.store.set_rule_choices(chat_id, choices, self.clock.now_ms())
        self._forget(self._choices, chat_id)

    async def record_join(self, chat_id: int, member_id: int) -> None:
        await self.store.record_join(chat_id, member_id, self.clock.now_ms())

    async def block(self, chat_id: int, member_id: int, name: str, by: int) -> bool:
        changed = await self.store.block(chat_id, member_id, name, by, self.clock.now_ms())
        self._forget(self._blocked, chat_id)
        return changed

    async def unblock(self, chat_id: int, member_id: int) -> bool:
        changed = await self.store.unblock(chat_id, member_id)
        self._forget(self._blocked, chat_id)
        return changed

    async def unlock(self, packet_id: str, member_id: int) -> bool:
        """Store that ``member_id`` replied the phrase; False if they had already."""
        fresh = await self.store.unlock(packet_id, member_id, self.clock.now_ms())
        _remember(self._unlocked, (packet_id, member_id), None)
        return fresh


def _remember(cache: OrderedDict[Any, Any], key: Any, value: Any) -> None:
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > _CACHE_LIMIT:
        cache.popitem(last=False)

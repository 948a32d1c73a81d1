"""The bound on requests in flight: FIFO, timeouts, and no slot lost to a waiter that gives up."""

from __future__ import annotations

import asyncio

import pytest

from bot.slots import Slots


async def test_free_slots_are_taken_at_once_then_waiters_queue_in_order() -> None:
    slots = Slots(2)
    assert slots.take_now() and slots.take_now() and not slots.take_now()
    order: list[int] = []

    async def wait(n: int) -> None:
        await slots.take(None)
        order.append(n)

    waiters = [asyncio.ensure_future(wait(n)) for n in range(5)]
    await asyncio.sleep(0)
    for _ in range(5):
        slots.give_back()
        await asyncio.sleep(0)
    await asyncio.gather(*waiters)
    assert order == [0, 1, 2, 3, 4]
    assert slots.free == 0
    slots.give_back()
    slots.give_back()
    assert slots.free == 2


async def test_a_waiter_times_out() -> None:
    slots = Slots(1)
    assert slots.take_now()
    with pytest.raises(TimeoutError):
        await slots.take(0.05)
    slots.give_back()
    assert slots.free == 1


async def test_a_waiter_that_gives_up_loses_no_slot() -> None:
    slots = Slots(1)
    assert slots.take_now()
    leaving = asyncio.ensure_future(slots.take(None))
    staying = asyncio.ensure_future(slots.take(None))
    await asyncio.sleep(0)
    leaving.cancel()
    await asyncio.sleep(0)
    slots.give_back()  # skips the one that left
    await asyncio.wait_for(staying, 1)
    slots.give_back()
    assert slots.free == 1


async def test_a_waiter_cancelled_after_being_handed_a_slot_passes_it_on() -> None:
    slots = Slots(1)
    assert slots.take_now()
    first = asyncio.ensure_future(slots.take(None))
    second = asyncio.ensure_future(slots.take(None))
    await asyncio.sleep(0)
    slots.give_back()  # handed to first ...
    first.cancel()  # ... which leaves before it runs
    await asyncio.wait_for(second, 1)
    assert first.cancelled()
    slots.give_back()
    assert slots.free == 1


async def test_thousands_of_waiters_each_get_a_slot() -> None:
    slots = Slots(8)
    held = 0
    most = 0

    async def use() -> None:
        nonlocal held, most
        if not slots.take_now():
            await slots.take(None)
        held += 1
        most = max(most, held)
        await asyncio.sleep(0)
        held -= 1
        slots.give_back()

    await asyncio.gather(*(use() for _ in range(5000)))
    assert most == 8 and slots.free == 8


def test_at_least_one_slot() -> None:
    with pytest.raises(ValueError):
        Slots(0)

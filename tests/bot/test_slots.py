"""Request slots: at most N requests on the wire, messages before chat actions."""

import asyncio

import pytest

from bot.slots import RequestSlots


async def _hold(slots: RequestSlots, name: str, log: list[str], release: asyncio.Event, **kwargs):
  async with slots.hold(**kwargs):
    log.append(name)
    await release.wait()


async def test_at_most_size_holders_then_first_come_first_served():
  # given
  slots, log, release = RequestSlots(2), [], asyncio.Event()

  # when
  tasks = [asyncio.create_task(_hold(slots, f"m{n}", log, release)) for n in range(5)]
  await asyncio.sleep(0.01)

  # then
  assert log == ["m0", "m1"]
  assert (slots.free, slots.waiting) == (0, 3)
  release.set()
  await asyncio.gather(*tasks)
  assert log == ["m0", "m1", "m2", "m3", "m4"]
  assert (slots.free, slots.waiting) == (2, 0)


async def test_urgent_waiters_go_before_background_ones():
  # given: the only slot is taken; two chat actions wait, then a message arrives
  slots, log, release = RequestSlots(1), [], asyncio.Event()
  first = asyncio.create_task(_hold(slots, "first", log, release))
  await asyncio.sleep(0.01)
  typing = [
    asyncio.create_task(_hold(slots, f"typing{n}", log, release, background=True)) for n in range(2)
  ]
  await asyncio.sleep(0.01)
  message = asyncio.create_task(_hold(slots, "message", log, release))
  await asyncio.sleep(0.01)

  # when
  release.set()
  await asyncio.gather(first, *typing, message)

  # then
  assert log == ["first", "message", "typing0", "typing1"]


async def test_a_cancelled_waiter_takes_no_slot():
  # given
  slots, log, release = RequestSlots(1), [], asyncio.Event()
  first = asyncio.create_task(_hold(slots, "first", log, release))
  await asyncio.sleep(0.01)
  gone = asyncio.create_task(_hold(slots, "gone", log, release, background=True))
  after = asyncio.create_task(_hold(slots, "after", log, release, background=True))
  await asyncio.sleep(0.01)

  # when: a typing action is cancelled (its answer was sent) while waiting
  gone.cancel()
  await asyncio.sleep(0.01)
  release.set()
  await asyncio.gather(first, after)

  # then
  assert gone.cancelled()
  assert log == ["first", "after"]
  assert (slots.free, slots.waiting) == (1, 0)


async def test_a_waiter_cancelled_as_it_gets_the_slot_passes_it_on():
  # given: one slot, held; two waiters
  slots = RequestSlots(1)
  holder = slots.hold()
  await holder.__aenter__()
  log, release = [], asyncio.Event()
  unlucky = asyncio.create_task(_hold(slots, "unlucky", log, release))
  next_one = asyncio.create_task(_hold(slots, "next", log, release))
  await asyncio.sleep(0.01)

  # when: the slot is handed to the first waiter and it is cancelled before it runs
  await holder.__aexit__(None, None, None)
  unlucky.cancel()
  release.set()
  await asyncio.gather(next_one)

  # then
  assert unlucky.cancelled()
  assert log == ["next"]
  assert (slots.free, slots.waiting) == (1, 0)


async def test_a_waiter_cancelled_after_leaving_the_line_is_not_removed_twice():
  # given: the waiter's future is cancelled directly, then skipped by a release
  slots = RequestSlots(1)
  holder = slots.hold()
  await holder.__aenter__()
  waiter = asyncio.create_task(slots.hold().__aenter__())
  await asyncio.sleep(0.01)
  slots._lines[0][0].cancel()

  # when: the release skips the cancelled future (taking it out of the line) first
  await holder.__aexit__(None, None, None)

  # then: the waiter ends cancelled, and the slot is free again
  with pytest.raises(asyncio.CancelledError):
    await waiter
  assert (slots.free, slots.waiting) == (1, 0)


def test_size_must_be_positive():
  with pytest.raises(ValueError, match="at least 1"):
    RequestSlots(0)

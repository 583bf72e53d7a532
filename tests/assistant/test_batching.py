import asyncio

import pytest

from assistant.batching import GroupWriter


def test_a_lone_item_is_written_at_once_and_a_burst_in_few_batches():
  # given: a write that takes a moment, like a database statement
  batches: list[list[int]] = []

  async def write(items: list[int]) -> None:
    batches.append(items)
    await asyncio.sleep(0.01)

  async def scenario() -> None:
    writer = GroupWriter(write)
    await writer.add(0)  # alone: its own batch
    await asyncio.gather(*(writer.add(n) for n in range(1, 101)))

  # when
  asyncio.run(scenario())

  # then: every item written once, in order; the burst (all added before the writer ran) in one
  assert [item for batch in batches for item in batch] == list(range(101))
  assert [len(batch) for batch in batches] == [1, 100]


def test_every_waiter_of_a_failed_batch_gets_the_error_and_later_batches_still_run():
  calls: list[list[str]] = []

  async def write(items: list[str]) -> None:
    calls.append(items)
    await asyncio.sleep(0)
    if "bad" in items:
      raise RuntimeError("database is down")

  async def scenario() -> list:
    writer = GroupWriter(write)
    first = asyncio.ensure_future(writer.add("first"))
    await asyncio.sleep(0)  # the first batch is being written
    failed = await asyncio.gather(writer.add("bad"), writer.add("also"), return_exceptions=True)
    await first
    await writer.add("later")
    return failed

  failed = asyncio.run(scenario())

  assert [str(error) for error in failed] == ["database is down", "database is down"]
  assert calls == [["first"], ["bad", "also"], ["later"]]


def test_a_waiter_that_gives_up_does_not_stop_its_batch():
  written: list[int] = []

  async def write(items: list[int]) -> None:
    await asyncio.sleep(0.01)
    written.extend(items)

  async def scenario() -> None:
    writer = GroupWriter(write)
    with pytest.raises(TimeoutError):
      await asyncio.wait_for(writer.add(1), timeout=0.001)
    await writer.add(2)

  asyncio.run(scenario())

  assert written == [1, 2]


def test_waiters_are_cancelled_with_the_writer_and_a_new_writer_starts_later():
  written: list[int] = []

  async def write(items: list[int]) -> None:
    await asyncio.sleep(0.05)
    written.extend(items)

  async def scenario() -> list[bool]:
    writer = GroupWriter(write)
    first = asyncio.ensure_future(writer.add(1))
    await asyncio.sleep(0)
    second = asyncio.ensure_future(writer.add(2))  # waits for the next batch
    await asyncio.sleep(0)
    writer._writer.cancel()  # e.g. the loop shutting down
    await asyncio.gather(first, second, return_exceptions=True)
    await writer.add(3)
    return [first.cancelled(), second.cancelled()]

  cancelled = asyncio.run(scenario())

  assert cancelled == [True, True]
  assert written == [3]

import asyncio
import time

import pytest
from telegram import Update

from bot.chatlock import ChatLock
from bot.processor import ChatOrderedUpdateProcessor, chat_key
from tests.fakes.telegram_server import BOT_USER
from tests.fakes.telegram_updates import UpdateFactory

factory = UpdateFactory(bot_user=BOT_USER)


def update(chat_id: int) -> Update:
  return Update.de_json(factory.text("hi", user_id=chat_id), None)


async def work(log: list, name: object, seconds: float = 0.0) -> None:
  log.append(("start", name))
  await asyncio.sleep(seconds)
  log.append(("end", name))


async def test_chats_run_concurrently_and_each_chat_in_order():
  # given: 20 chats x 3 messages, interleaved, each taking 50 ms
  processor = ChatOrderedUpdateProcessor()
  log: list = []
  started = time.monotonic()

  # when
  for n in range(3):
    for chat in range(1, 21):
      await processor.process_update(update(chat), work(log, (chat, n), 0.05))
  await processor.drain()

  # then: sequential would take 3 s; per chat it is 3 x 50 ms
  assert time.monotonic() - started < 1.0
  for chat in range(1, 21):
    events = [(kind, n) for kind, (c, n) in log if c == chat]
    assert events == [("start", 0), ("end", 0), ("start", 1), ("end", 1), ("start", 2), ("end", 2)]
  assert processor.active_chats == 0
  assert processor.pending == 0


async def test_recent_duplicate_is_dropped_without_running(caplog):
  processor = ChatOrderedUpdateProcessor()
  first = update(1)
  again = Update.de_json(first.to_dict(), None)
  log: list = []
  duplicate = work(log, "dup")

  await processor.process_update(first, work(log, "first"))
  await processor.process_update(again, duplicate)
  await processor.drain()

  assert log == [("start", "first"), ("end", "first")]
  assert duplicate.cr_frame is None  # closed, never awaited
  assert f"Dropping duplicate update {first.update_id}" in caplog.text


async def test_old_ids_are_forgotten(monkeypatch):
  monkeypatch.setattr("bot.processor.RECENT_IDS", 2)
  processor = ChatOrderedUpdateProcessor()
  updates = [update(1) for _ in range(3)]
  log: list = []

  for item in updates:
    await processor.process_update(item, work(log, item.update_id))
  await processor.process_update(updates[0], work(log, "again"))
  await processor.drain()

  assert [name for kind, name in log if kind == "end"][-1] == "again"


async def test_global_cap_limits_running_handlers():
  processor = ChatOrderedUpdateProcessor(max_concurrent=2)
  running = peak = 0

  async def job() -> None:
    nonlocal running, peak
    running += 1
    peak = max(peak, running)
    await asyncio.sleep(0.02)
    running -= 1

  for chat in range(10):
    await processor.process_update(update(chat + 1), job())
  await processor.drain()

  assert peak == 2


async def test_dispatch_waits_when_max_pending_are_in_flight():
  # given
  processor = ChatOrderedUpdateProcessor(max_pending=2)
  gate = asyncio.Event()

  async def blocked() -> None:
    await gate.wait()

  await processor.process_update(update(1), blocked())
  await processor.process_update(update(2), blocked())

  # when
  third = asyncio.create_task(processor.process_update(update(3), blocked()))
  await asyncio.sleep(0.05)

  # then
  assert not third.done()
  assert processor.pending == 2
  gate.set()
  await third
  await processor.drain()
  assert processor.pending == 0


async def test_drain_timeout_and_shutdown_cancel_what_is_left():
  # given
  processor = ChatOrderedUpdateProcessor()
  await processor.initialize()
  log: list = []
  queued = work(log, "queued")
  await processor.process_update(update(1), work(log, "slow", 10))
  await processor.process_update(update(1), queued)
  await asyncio.sleep(0.01)

  # when
  finished = await processor.drain(grace=0.05)
  await processor.shutdown()

  # then
  assert finished is False
  assert log == [("start", "slow")]
  assert queued.cr_frame is None
  assert (processor.active_chats, processor.pending) == (0, 0)


async def test_a_failing_update_does_not_stop_its_chat(caplog):
  processor = ChatOrderedUpdateProcessor()
  log: list = []

  async def boom() -> None:
    raise RuntimeError("boom")

  await processor.process_update(update(1), boom())
  await processor.process_update(update(1), work(log, "next"))
  await processor.drain()

  assert log == [("start", "next"), ("end", "next")]
  assert "Update processing failed for chat 1" in caplog.text


async def test_chat_lock_wraps_every_run():
  class Recording(ChatLock):
    def __init__(self):
      self.keys = []
      self.started = self.stopped = False

    async def initialize(self):
      self.started = True

    async def shutdown(self):
      self.stopped = True

    def hold(self, key):
      self.keys.append(key)
      return super().hold(key)

  lock = Recording()
  processor = ChatOrderedUpdateProcessor(chat_lock=lock)

  async with processor:
    await processor.process_update(update(7), work([], "x"))
    await processor.drain()

  assert (lock.started, lock.keys, lock.stopped) == (True, [7], True)


async def test_objects_that_are_not_updates_are_processed_without_dedup():
  processor = ChatOrderedUpdateProcessor()
  log: list = []

  await processor.process_update("custom", work(log, 1))
  await processor.process_update("custom", work(log, 2))
  await processor.drain()

  assert [name for kind, name in log if kind == "end"] == [1, 2]


def test_keys_chat_then_user_then_update():
  inline = Update.de_json(factory.callback("x", user_id=9), None)
  inline_dict = inline.to_dict()
  del inline_dict["callback_query"]["message"]
  poll_answer = {"update_id": 5, "poll": {"id": "1", "question": "q", "options": [],
    "total_voter_count": 0, "is_closed": True, "is_anonymous": True, "type": "regular",
    "allows_multiple_answers": False, "allows_revoting": False, "members_only": False}}  # fmt: skip

  assert chat_key(inline) == 9
  assert chat_key(Update.de_json(inline_dict, None)) == ("user", 9)
  assert chat_key(Update.de_json(poll_answer, None)) == ("update", 5)
  assert chat_key("custom") == ("object", id("custom"))


def test_bad_limits_are_refused():
  with pytest.raises(ValueError, match="positive"):
    ChatOrderedUpdateProcessor(max_concurrent=0)

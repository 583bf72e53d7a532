"""Update processing: different chats concurrently, one chat strictly in order, bounded memory.

python-telegram-bot's `concurrent_updates` runs every update as its own task behind one semaphore
(at most 256 by default) and keeps no order within a chat. Here dispatch stays sequential (PTB's
fetcher awaits `do_process_update`, which only enqueues, so arrival order is kept) and each chat
(in groups: each participant) gets a FIFO queue drained by one worker task that exists only
while it has work:

    update_queue ─▶ do_process_update ─▶ chat queue ─▶ chat worker ─▶ handlers (engine, LLM)
                    (dedup, backpressure)               (global cap, cross-process chat lock)

- `max_concurrent`: handlers running at once across all chats (default 2048);
- `max_pending`: updates accepted but not finished; when reached, dispatch waits, so the
  Updater stops fetching (its queue is bounded too) and Telegram keeps the rest;
- a duplicate update id seen recently is dropped before it costs anything;
- `drain()` finishes everything accepted (graceful stop).
"""

import asyncio
import logging
from collections import OrderedDict, deque
from collections.abc import Awaitable, Hashable
from typing import Any

from telegram import Chat, Update
from telegram.ext import BaseUpdateProcessor

from bot.chatlock import ChatLock, NoChatLock

logger = logging.getLogger(__name__)

RECENT_IDS = 10_000  # update ids remembered for the in-memory duplicate check
GROUP_TYPES = {Chat.GROUP, Chat.SUPERGROUP}


def chat_key(update: object) -> Hashable:
  """What orders an update: its chat (a participant of a group), else its user, else nothing."""
  if isinstance(update, Update):
    chat, user = update.effective_chat, update.effective_user
    if chat is not None and chat.type in GROUP_TYPES and user is not None:
      # Each participant has their own dialogue with the bot: in order for each of them, while
      # one person's slow answer doesn't hold up everybody else in the group.
      return (chat.id, user.id)
    if chat is not None:
      return chat.id
    if update.effective_user is not None:
      return ("user", update.effective_user.id)
    return ("update", update.update_id)
  return ("object", id(update))


class ChatOrderedUpdateProcessor(BaseUpdateProcessor):
  """A `BaseUpdateProcessor`: per-chat FIFO order, chats in parallel, bounded and drainable."""

  def __init__(
    self,
    *,
    max_concurrent: int = 2048,
    max_pending: int = 10_000,
    chat_lock: ChatLock | None = None,
  ) -> None:
    # 1 tells PTB's fetcher to await do_process_update for each update in turn (keeps arrival
    # order); the real concurrency limit is max_concurrent, applied per handler run below.
    super().__init__(max_concurrent_updates=1)
    if max_concurrent < 1 or max_pending < 1:
      raise ValueError("max_concurrent and max_pending must be positive")
    self.max_concurrent = max_concurrent
    self.max_pending = max_pending
    self.chat_lock = chat_lock or NoChatLock()
    self._running = asyncio.Semaphore(max_concurrent)
    self._room = asyncio.Semaphore(max_pending)
    self._queues: dict[Hashable, deque[Awaitable[Any]]] = {}
    self._workers: dict[Hashable, asyncio.Task] = {}
    self._recent: OrderedDict[int, None] = OrderedDict()
    self.pending = 0

  @property
  def active_chats(self) -> int:
    return len(self._workers)

  async def initialize(self) -> None:
    await self.chat_lock.initialize()

  async def shutdown(self) -> None:
    """Cancel what `drain` left (normally nothing: BotApplication.stop drains first)."""
    for task in list(self._workers.values()):
      task.cancel()
    if self._workers:
      await asyncio.wait(list(self._workers.values()))
    await self.chat_lock.shutdown()

  async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
    """Enqueue the update on its chat's queue (waits only when max_pending are in flight)."""
    if self._seen(update):
      logger.info("Dropping duplicate update %s", update.update_id)
      coroutine.close()
      return
    await self._room.acquire()
    self.pending += 1
    key = chat_key(update)
    self._queues.setdefault(key, deque()).append(coroutine)
    if key not in self._workers:
      self._workers[key] = asyncio.create_task(self._work(key), name=f"chat-worker:{key}")

  def _seen(self, update: object) -> bool:
    if not isinstance(update, Update):
      return False
    if update.update_id in self._recent:
      return True
    self._recent[update.update_id] = None
    if len(self._recent) > RECENT_IDS:
      self._recent.popitem(last=False)
    return False

  async def _work(self, key: Hashable) -> None:
    """Run one chat's updates one after another; the worker ends (and is forgotten) when idle."""
    queue = self._queues[key]
    try:
      while queue:
        coroutine = queue.popleft()
        try:
          async with self._running, self.chat_lock.hold(key):
            await coroutine
        except Exception:  # process_update reports handler errors itself; this is a safety net
          logger.exception("Update processing failed for chat %s", key)
        finally:
          self.pending -= 1
          self._room.release()
    finally:
      # No await between the empty check and here, so no update can slip in unseen.
      for coroutine in queue:  # left over only when the worker was cancelled
        coroutine.close()
        self.pending -= 1
        self._room.release()
      del self._queues[key]
      del self._workers[key]

  async def drain(self, grace: float | None = None) -> bool:
    """Wait until every accepted update is processed; False if `grace` seconds ran out first."""
    loop = asyncio.get_running_loop()
    deadline = None if grace is None else loop.time() + grace
    while self._workers:
      remaining = None if deadline is None else deadline - loop.time()
      if remaining is not None and remaining <= 0:
        logger.warning("Gave up waiting for %s chats with updates in progress", len(self._workers))
        return False
      await asyncio.wait(list(self._workers.values()), timeout=remaining)
    return True

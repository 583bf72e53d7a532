"""At most N Bot API requests on the wire at once; answers go before "typing…" actions.

httpx's connection pool scans every connection for every request it has to queue, so with
hundreds of answers at once its queue cost more CPU than the engine's work. Requests wait here
instead (two cheap FIFO lines), and a chat action — only a hint — never holds up a message.
"""

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class RequestSlots:
  """A semaphore with two waiting lines: urgent waiters are let in before background ones."""

  def __init__(self, size: int) -> None:
    if size < 1:
      raise ValueError("size must be at least 1")
    self.free = size
    self._lines: tuple[deque[asyncio.Future], deque[asyncio.Future]] = (deque(), deque())

  @property
  def waiting(self) -> int:
    return sum(len(line) for line in self._lines)

  @asynccontextmanager
  async def hold(self, *, background: bool = False) -> AsyncIterator[None]:
    """Wait for a slot (behind every urgent waiter when `background`), keep it for the block."""
    await self._acquire(self._lines[1 if background else 0])
    try:
      yield
    finally:
      self._release()

  async def _acquire(self, line: deque[asyncio.Future]) -> None:
    if self.free > 0 and not self.waiting:
      self.free -= 1
      return
    waiter = asyncio.get_running_loop().create_future()
    line.append(waiter)
    try:
      await waiter
    except asyncio.CancelledError:
      if waiter.done() and not waiter.cancelled():
        self._release()  # handed a slot just as it was cancelled: pass it on
      elif waiter in line:
        line.remove(waiter)
      raise

  def _release(self) -> None:
    for line in self._lines:
      while line:
        waiter = line.popleft()
        if not waiter.done():  # a cancelled waiter leaves its place to the next
          waiter.set_result(None)
          return
    self.free += 1

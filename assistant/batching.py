"""Group commit: writes that many tasks make at once go to the database together.

    ids = GroupWriter(write_many)      # write_many(items) -> awaitable, one statement for all
    await ids.add(item)                # returns once the batch holding `item` is written

The first `add` starts writing at once; items added while a batch is being written wait together
and go in the next one. So a lone write costs what it did before, and a burst of hundreds costs a
few statements instead of hundreds (each also a hop to an ORM thread).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class GroupWriter(Generic[T]):
  """Batches items for `write`; use one per event loop (its futures belong to that loop)."""

  def __init__(self, write: Callable[[list[T]], Awaitable[object]]) -> None:
    self._write = write
    self._pending: list[tuple[T, asyncio.Future]] = []
    self._writer: asyncio.Task | None = None

  async def add(self, item: T) -> None:
    """Queue `item` and wait until its batch is written (a failed write raises here)."""
    future = asyncio.get_running_loop().create_future()
    self._pending.append((item, future))
    if self._writer is None or self._writer.done():
      self._writer = asyncio.create_task(self._run())
    await future

  async def _run(self) -> None:
    while self._pending:
      batch, self._pending = self._pending, []
      try:
        await self._write([item for item, _future in batch])
      except Exception as error:  # every waiter of the batch hears of it
        for _item, future in batch:
          if not future.done():
            future.set_exception(error)
      except BaseException:  # the writer was cancelled: so are the waits on it
        for _item, future in [*batch, *self._pending]:
          future.cancel()
        self._pending = []
        raise
      else:
        for _item, future in batch:
          if not future.done():
            future.set_result(None)

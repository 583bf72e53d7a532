"""Run synchronous ORM work from async code without blocking the event loop.

Django's own `sync_to_async` (and the `a*` ORM methods) default to one shared thread, which would
serialise every chat behind it. `run_db` uses a pool of worker threads instead, each with its own
connection that goes back to the pool (PostgreSQL) after every call, so no connection is held
while the LLM works. A SQLite connection stays open in its thread between calls: an idle one
holds no lock, and opening one (pragmas, SQL functions) cost more than a whole turn's queries.
"""

import asyncio
import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from django.conf import settings
from django.db import connections

P = ParamSpec("P")
T = TypeVar("T")

_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None


def db_executor() -> ThreadPoolExecutor:
  """The process-wide pool of ORM threads (created on first use, sized by DB_THREADS)."""
  global _executor
  with _lock:
    if _executor is None:
      _executor = ThreadPoolExecutor(max_workers=settings.DB_THREADS, thread_name_prefix="db")
    return _executor


def _call_and_release(func: Callable[..., T], args: tuple, kwargs: dict) -> T:
  try:
    return func(*args, **kwargs)
  finally:
    _release()


def _release() -> None:
  """Close (return to the pool) the thread's connections, except healthy idle SQLite ones."""
  for connection in connections.all(initialized_only=True):
    idle = (
      connection.connection is not None and connection.autocommit and not connection.in_atomic_block
    )
    if connection.vendor == "sqlite" and idle:
      continue
    connection.close()


async def run_db(func: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
  """Await `func(*args, **kwargs)` on an ORM worker thread."""
  loop = asyncio.get_running_loop()
  context = contextvars.copy_context()
  return await loop.run_in_executor(
    db_executor(), context.run, _call_and_release, func, args, kwargs
  )

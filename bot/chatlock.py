"""Cross-process per-chat locks, for several webhook workers behind a load balancer.

Inside one process the chat queues of `bot.processor` already keep a chat's updates in order.
With several processes, `PostgresChatLock` makes sure no two of them work on the same chat at
the same time: a PostgreSQL session advisory lock keyed by the chat id, taken with
`pg_try_advisory_lock` on one dedicated autocommit connection per process (so the number of
connections does not grow with the number of chats, and the LLM call holds no ORM connection).
What it does not give: the order of two messages of one chat that reach two workers within the
same instant (see docs/telegram.md, "Scale-out").
"""

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator, Hashable
from typing import Any

logger = logging.getLogger(__name__)

LOCK_NAMESPACE = 0x7467_6D73  # 'tgms': first key of the two-int advisory lock, ours alone
POLL_START, POLL_MAX = 0.02, 0.5  # seconds between tries while another worker holds the chat


class ChatLock:
  """No cross-process lock: one process, order kept by the chat queues."""

  async def initialize(self) -> None:
    return None

  async def shutdown(self) -> None:
    return None

  @contextlib.asynccontextmanager
  async def hold(self, key: Hashable) -> AsyncIterator[None]:
    yield


NoChatLock = ChatLock


def lock_id(key: Hashable) -> int:
  """A stable signed 32-bit number for a chat key (collisions only serialise two chats)."""
  digest = hashlib.blake2b(repr(key).encode(), digest_size=4).digest()
  return int.from_bytes(digest, "big", signed=True)


class PostgresChatLock(ChatLock):
  """Session advisory locks on one dedicated psycopg connection."""

  def __init__(self, connect_kwargs: dict[str, Any]) -> None:
    self.connect_kwargs = connect_kwargs
    self._conn: Any = None

  async def initialize(self) -> None:
    await self._connect()

  async def shutdown(self) -> None:
    if self._conn is not None:
      await self._conn.close()  # releases every lock this session still holds
      self._conn = None

  async def _connect(self) -> Any:
    import psycopg

    self._conn = await psycopg.AsyncConnection.connect(**self.connect_kwargs, autocommit=True)
    return self._conn

  async def _query(self, sql: str, number: int) -> bool:
    for attempt in (1, 2):
      try:
        conn = (
          self._conn if self._conn is not None and not self._conn.closed else await self._connect()
        )
        cursor = await conn.execute(sql, (LOCK_NAMESPACE, number))
        return bool((await cursor.fetchone())[0])
      except Exception as error:  # psycopg.OperationalError and friends: reconnect once
        self._conn = None
        if attempt == 2:
          raise
        logger.warning("Chat lock connection lost (%s); reconnecting", type(error).__name__)
    raise AssertionError("unreachable")  # pragma: no cover

  @contextlib.asynccontextmanager
  async def hold(self, key: Hashable) -> AsyncIterator[None]:
    number = lock_id(key)
    locked = await self._acquire(key, number)
    try:
      yield
    finally:
      if locked:
        with contextlib.suppress(Exception):  # a lost session has released the lock already
          await self._query("SELECT pg_advisory_unlock(%s, %s)", number)

  async def _acquire(self, key: Hashable, number: int) -> bool:
    delay = POLL_START
    while True:
      try:
        if await self._query("SELECT pg_try_advisory_lock(%s, %s)", number):
          return True
      except Exception:
        # Availability over strictness: answer the customer even when the lock DB is away.
        logger.exception("Chat lock unavailable; handling chat %s without it", key)
        return False
      await asyncio.sleep(delay)
      delay = min(delay * 2, POLL_MAX)


def postgres_connect_kwargs(database: dict[str, Any]) -> dict[str, Any]:
  """psycopg connect() arguments for a Django DATABASES entry."""
  kwargs = {
    "dbname": database.get("NAME") or "postgres",
    "user": database.get("USER") or None,
    "password": database.get("PASSWORD") or None,
    "host": database.get("HOST") or None,
    "port": database.get("PORT") or None,
    "application_name": "assistant-chat-lock",
  }
  return {name: value for name, value in kwargs.items() if value is not None}

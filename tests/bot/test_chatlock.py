import asyncio
import os

import psycopg
import pytest

from bot.chatlock import ChatLock, PostgresChatLock, lock_id, postgres_connect_kwargs

URL = os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def _kwargs() -> dict:
  import environ

  return postgres_connect_kwargs(environ.Env.db_url_config(URL))


@pytest.fixture
def pg_kwargs():
  try:
    psycopg.connect(**_kwargs(), connect_timeout=2).close()
  except psycopg.OperationalError:  # pragma: no cover - PostgreSQL is part of the dev setup
    pytest.skip("PostgreSQL is not reachable")
  return _kwargs()


async def test_two_workers_never_hold_one_chat_at_once(pg_kwargs):
  # given: two processes' locks (two sessions)
  first, second = PostgresChatLock(pg_kwargs), PostgresChatLock(pg_kwargs)
  await first.initialize()
  await second.initialize()
  events = []

  async def handle(lock, name):
    async with lock.hold(-100123):
      events.append(f"{name} in")
      await asyncio.sleep(0.1)
      events.append(f"{name} out")

  # when
  try:
    await asyncio.gather(handle(first, "a"), handle(second, "b"))
  finally:
    await first.shutdown()
    await second.shutdown()

  # then: one after the other, whoever came first
  assert events in (["a in", "a out", "b in", "b out"], ["b in", "b out", "a in", "a out"])


async def test_other_chats_are_not_blocked(pg_kwargs):
  first, second = PostgresChatLock(pg_kwargs), PostgresChatLock(pg_kwargs)
  await first.initialize()
  await second.initialize()
  try:
    async with first.hold(1):
      async with asyncio.timeout(1):
        async with second.hold(2):
          pass
  finally:
    await first.shutdown()
    await second.shutdown()


async def test_lost_connection_reconnects(pg_kwargs, caplog):
  lock = PostgresChatLock(pg_kwargs)
  await lock.initialize()
  await lock._conn.close()

  async with lock.hold(5):
    pass

  assert "reconnecting" not in caplog.text  # a closed connection is simply reopened
  await lock.shutdown()


async def test_broken_connection_is_reported_and_retried_once(pg_kwargs, caplog, monkeypatch):
  # given: the current connection fails on use
  lock = PostgresChatLock(pg_kwargs)
  await lock.initialize()

  class Broken:
    closed = False

    async def execute(self, *args):
      raise psycopg.OperationalError("server closed the connection")

  lock._conn = Broken()

  # when
  async with lock.hold(6):
    pass

  # then
  assert "Chat lock connection lost (OperationalError); reconnecting" in caplog.text
  await lock.shutdown()


async def test_unreachable_database_does_not_block_answers(caplog):
  lock = PostgresChatLock({"host": "127.0.0.1", "port": 1, "dbname": "x", "connect_timeout": 1})

  async with lock.hold(7):
    handled = True

  assert handled
  assert "handling chat 7 without it" in caplog.text
  await lock.shutdown()


async def test_no_lock_does_nothing():
  lock = ChatLock()
  await lock.initialize()
  async with lock.hold(1):
    pass
  await lock.shutdown()


def test_lock_ids_are_stable_signed_32_bit():
  assert lock_id(-1001234567890) == lock_id(-1001234567890)
  assert lock_id(1) != lock_id(2)
  assert all(-(2**31) <= lock_id(n) < 2**31 for n in range(100))


def test_connect_kwargs_from_django_settings():
  database = {"NAME": "app", "USER": "bot", "PASSWORD": "", "HOST": "db", "PORT": 5432}

  assert postgres_connect_kwargs(database) == {
    "dbname": "app",
    "user": "bot",
    "host": "db",
    "port": 5432,
    "application_name": "assistant-chat-lock",
  }

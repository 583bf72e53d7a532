import asyncio
import threading

import pytest
from django.db import connection

from assistant.db import _release, run_db
from leads.models import Customer


def _create(external_id: str) -> tuple[int, str]:
  customer = Customer.objects.create(external_id=external_id)
  return customer.pk, threading.current_thread().name


@pytest.mark.django_db(transaction=True)
async def test_run_db_runs_orm_work_on_worker_threads_concurrently():
  # when
  results = await asyncio.gather(*(run_db(_create, str(n)) for n in range(20)))

  # then
  assert len({pk for pk, _thread in results}) == 20
  assert all(thread.startswith("db") for _pk, thread in results)
  assert await run_db(Customer.objects.count) == 20


def _raw_connection() -> tuple[str, int]:
  connection.ensure_connection()
  return threading.current_thread().name, id(connection.connection)


@pytest.mark.django_db(transaction=True)
async def test_sqlite_connections_stay_open_between_calls_postgres_ones_go_back():
  # when: many calls, so each worker thread runs several
  seen = await asyncio.gather(*(run_db(_raw_connection) for _ in range(40)))

  # then: on SQLite a thread reuses its open connection (opening one costs more than a
  # turn's queries); on PostgreSQL each call gets one from the pool and gives it back
  by_thread: dict[str, set[int]] = {}
  for thread, raw in seen:
    by_thread.setdefault(thread, set()).add(raw)
  assert len(by_thread) < len(seen)  # threads ran several calls each
  if connection.vendor == "sqlite":
    assert all(len(raws) == 1 for raws in by_thread.values())
  assert await run_db(lambda: connection.connection is None) is (connection.vendor != "sqlite")


@pytest.mark.django_db(transaction=True)
def test_a_connection_left_in_a_transaction_is_closed():
  # given: work that forgot to finish its transaction
  connection.set_autocommit(False)
  Customer.objects.count()

  # when
  _release()

  # then: nothing half-done is reused by the next call
  assert connection.connection is None
  assert connection.get_autocommit()

import asyncio
import threading

import pytest

from assistant.db import run_db
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

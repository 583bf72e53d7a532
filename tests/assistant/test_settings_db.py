"""Database settings in force: SQLite WAL/IMMEDIATE/busy timeout, the PostgreSQL pool, and twenty
concurrent writers (threads and processes) finishing without "database is locked"."""

import os
import subprocess
import sys
import textwrap
import threading

import pytest
from django.conf import settings
from django.db import connection, connections, transaction

from leads.models import Customer

WRITERS = 20
TRANSACTIONS = 5
# Of the twenty writers in the mixed test, this many are separate processes (each one imports
# Django: more would only slow the suite on a 2-core machine without testing anything new).
PROCESSES = 6

only_sqlite = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite only")
only_postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")


def write_transactions(counter_pk: int, writer: str) -> None:
  """Each transaction reads the shared counter, then writes it, and inserts a row."""
  for number in range(TRANSACTIONS):
    with transaction.atomic():
      counter = Customer.objects.select_for_update().get(pk=counter_pk)
      counter.state = {"count": counter.state["count"] + 1}
      counter.save(update_fields=["state"])
      Customer.objects.create(external_id=f"{writer}-{number}")


WRITER_PROCESS = textwrap.dedent(
  """
  import sys
  import django
  django.setup()
  from tests.assistant.test_settings_db import write_transactions
  print("ready", flush=True)
  sys.stdin.readline()  # start together with the others
  write_transactions(int(sys.argv[1]), sys.argv[2])
  print("done", flush=True)
  """
)


def database_url() -> str:
  """The test database as a DATABASE_URL, for a child process."""
  db = connection.settings_dict
  if connection.vendor == "sqlite":
    return f"sqlite:///{db['NAME']}"
  auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
  return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@only_sqlite
@pytest.mark.django_db
def test_sqlite_pragmas_are_in_effect_on_a_connection():
  # given
  assert connection.settings_dict["NAME"] != ":memory:"  # a file, as in production

  # when
  with connection.cursor() as cursor:
    values = {}
    for pragma in ["journal_mode", "synchronous", "busy_timeout", "foreign_keys"]:
      cursor.execute(f"PRAGMA {pragma}")
      values[pragma] = cursor.fetchone()[0]

  # then
  assert values == {
    "journal_mode": "wal",
    "synchronous": 1,  # NORMAL
    "busy_timeout": settings.DATABASES["default"]["OPTIONS"]["timeout"] * 1000,
    "foreign_keys": 1,
  }
  assert connection.transaction_mode == "IMMEDIATE"


@only_postgres
@pytest.mark.django_db
def test_postgres_uses_a_psycopg_connection_pool():
  # when
  connection.ensure_connection()

  # then
  pool = connection.pool
  configured = settings.DATABASES["default"]["OPTIONS"]["pool"]
  assert pool is not None
  assert (pool.min_size, pool.max_size, pool.timeout) == (1, configured["max_size"], 30)
  assert connection.settings_dict["CONN_MAX_AGE"] == 0
  assert pool.max_size >= settings.DB_THREADS


@only_postgres
@pytest.mark.django_db
def test_postgres_prepares_statements_the_bot_repeats():
  # given: server-side binding, statements prepared from their second run on a connection
  assert connection.settings_dict["OPTIONS"]["server_side_binding"] is True
  customer = Customer.objects.create(external_id="prepared")

  # when
  for _ in range(3):
    assert Customer.objects.get(external_id="prepared").pk == customer.pk
  with connection.cursor() as cursor:
    cursor.execute("SELECT statement FROM pg_prepared_statements")
    prepared = [row[0] for row in cursor.fetchall()]

  # then
  assert [sql for sql in prepared if '"leads_customer"."external_id" = $1' in sql]


@only_postgres
def test_prepared_statements_can_be_switched_off_for_pgbouncer():
  script = (
    "import django; django.setup(); from django.db import connection;"
    "options = connection.settings_dict['OPTIONS'];"
    "print(options.get('server_side_binding'), options.get('prepare_threshold'))"
  )
  env = {**os.environ, "DATABASE_URL": database_url(), "DB_PREPARED_STATEMENTS": "false"}

  done = subprocess.run(
    [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
  )

  assert done.stdout.split() == ["None", "None"], done.stderr


def start_writer_threads(count: int, counter_pk: int, barrier: threading.Barrier, errors: list):
  def run(name: str) -> None:
    try:
      barrier.wait(timeout=60)
      write_transactions(counter_pk, name)
    except Exception as error:  # collected and asserted on by the test
      errors.append(repr(error))
    finally:
      connections.close_all()

  threads = [threading.Thread(target=run, args=(f"t{n}",)) for n in range(count)]
  for thread in threads:
    thread.start()
  return threads


@pytest.mark.django_db(transaction=True)
def test_twenty_writer_threads_never_see_database_is_locked():
  # given
  counter = Customer.objects.create(external_id="counter", state={"count": 0})
  errors: list[str] = []

  # when
  threads = start_writer_threads(WRITERS, counter.pk, threading.Barrier(WRITERS), errors)
  for thread in threads:
    thread.join(timeout=120)

  # then
  assert errors == []
  counter.refresh_from_db()
  assert counter.state["count"] == WRITERS * TRANSACTIONS
  assert Customer.objects.count() == 1 + WRITERS * TRANSACTIONS


@pytest.mark.django_db(transaction=True)
def test_twenty_writers_in_threads_and_processes_never_see_database_is_locked():
  # given writer processes, set up and waiting, and writer threads here
  counter = Customer.objects.create(external_id="counter", state={"count": 0})
  environment = {**os.environ, "DATABASE_URL": database_url()}
  processes = [
    subprocess.Popen(
      [sys.executable, "-c", WRITER_PROCESS, str(counter.pk), f"p{n}"],
      cwd=settings.BASE_DIR,
      env=environment,
      stdin=subprocess.PIPE,
      stdout=subprocess.PIPE,
      stderr=subprocess.PIPE,
      text=True,
    )
    for n in range(PROCESSES)
  ]
  for process in processes:
    assert process.stdout.readline().strip() == "ready", process.stderr.read()
  errors: list[str] = []
  barrier = threading.Barrier(WRITERS - PROCESSES + 1)
  threads = start_writer_threads(WRITERS - PROCESSES, counter.pk, barrier, errors)

  # when all twenty start at once
  for process in processes:
    process.stdin.write("go\n")
    process.stdin.flush()
  barrier.wait(timeout=60)
  outputs = [process.communicate(timeout=120) for process in processes]
  for thread in threads:
    thread.join(timeout=120)

  # then
  stderr = "".join(err for _out, err in outputs)
  assert "database is locked" not in stderr
  assert [process.returncode for process in processes] == [0] * PROCESSES, stderr
  assert [out.strip() for out, _err in outputs] == ["done"] * PROCESSES
  assert errors == []
  counter.refresh_from_db()
  assert counter.state["count"] == WRITERS * TRANSACTIONS
  assert Customer.objects.count() == 1 + WRITERS * TRANSACTIONS

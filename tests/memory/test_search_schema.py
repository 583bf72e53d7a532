import pytest
from django.db import DatabaseError, connection

from memory import search_schema
from memory.checks import search_index_check
from memory.search import message_search


def _drop_a_trigger() -> str:
  name = (
    "memory_message_search_vector"
    if connection.vendor == "postgresql"
    else "memory_message_fts_insert"
  )
  with connection.cursor() as cursor:
    if connection.vendor == "postgresql":
      cursor.execute(f"DROP TRIGGER {name} ON memory_message")
    else:
      cursor.execute(f"DROP TRIGGER {name}")
  return name


@pytest.mark.django_db
def test_migrations_install_the_complete_search_schema():
  assert search_schema.problems(connection) == []
  assert search_index_check(databases=["default"]) == []


@pytest.mark.django_db
def test_the_check_warns_when_a_trigger_is_gone_and_install_repairs_it():
  # given
  name = _drop_a_trigger()

  # when
  warnings = search_index_check(databases=["default"])

  # then
  expected = f"trigger {name}" if connection.vendor == "postgresql" else name
  assert search_schema.problems(connection) == [expected]
  assert [w.id for w in warnings] == ["memory.W001"]
  assert name in warnings[0].msg
  assert search_schema.install(connection) == [expected]
  assert search_schema.install(connection) == []
  assert search_index_check(databases=["default"]) == []


@pytest.mark.django_db
def test_the_check_skips_databases_that_are_not_migrated(monkeypatch):
  monkeypatch.setattr("memory.checks.MigrationRecorder.applied_migrations", lambda self: {})
  _drop_a_trigger()

  assert search_index_check(databases=["default"]) == []
  assert search_index_check(databases=None) == []


@pytest.mark.django_db
def test_uninstall_then_install_round_trip(customer, chat, say):
  say("доставка завтра")
  if connection.vendor == "postgresql":
    with connection.cursor() as cursor:  # run the deferred FK checks before ALTER TABLE
      cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")

  search_schema.uninstall(connection)
  assert search_schema.problems(connection) != []

  search_schema.install(connection)
  search_schema.index_existing(connection)
  assert [
    m.text for m in message_search(customer=customer, chat=chat, query="доставкой", limit=3)
  ] == ["доставка завтра"]


def test_unsupported_vendors_are_refused():
  class Other:
    vendor = "oracle"

  for operation in (search_schema.install, search_schema.uninstall, search_schema.problems):
    with pytest.raises(NotImplementedError, match="oracle"):
      operation(Other())


@pytest.mark.django_db
def test_the_check_skips_databases_it_cannot_read(monkeypatch):
  def broken(connection):
    raise DatabaseError("no such table")

  monkeypatch.setattr("memory.checks.search_schema.problems", broken)

  assert search_index_check(databases=["default"]) == []


def test_the_sqlite_backend_registers_the_index_function(tmp_path, django_db_blocker):
  # Runs on every database: an SQLite connection of its own, through our backend.
  from memory.sqlite_backend.base import DatabaseWrapper

  wrapper = DatabaseWrapper({**_sqlite_settings(), "NAME": str(tmp_path / "x.sqlite3")})
  try:
    with django_db_blocker.unblock(), wrapper.cursor() as cursor:
      cursor.execute("SELECT memory_search_terms(1, 2, 'Доставкой deliveries')")
      assert cursor.fetchone() == ("s1_2_доставк s1_2_deliveri",)
  finally:
    wrapper.close()


def _sqlite_settings() -> dict:
  return {
    "ENGINE": "memory.sqlite_backend",
    "OPTIONS": {},
    "TIME_ZONE": None,
    "CONN_MAX_AGE": 0,
    "CONN_HEALTH_CHECKS": False,
    "AUTOCOMMIT": True,
    "ATOMIC_REQUESTS": False,
    "USER": "",
    "PASSWORD": "",
    "HOST": "",
    "PORT": "",
    "TEST": {},
  }

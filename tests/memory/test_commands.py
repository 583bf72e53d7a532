import io

import pytest
from django.core.management import call_command
from django.db import connection

from memory import search_schema
from memory.models import Message
from memory.search import message_search


def _wipe_index() -> None:
  """Lose the index contents the way a bad restore or a bypassed trigger would."""
  with connection.cursor() as cursor:
    if connection.vendor == "postgresql":
      # The trigger watches text/kind/role/customer/chat only, so this leaves the vectors empty.
      cursor.execute("UPDATE memory_message SET search_vector = NULL")
    else:
      cursor.execute("DELETE FROM memory_message_fts")
      cursor.execute("INSERT INTO memory_message_fts(rowid, terms) VALUES (999999, 's1_1_доставк')")


def _run(*args: str) -> tuple[str, str]:
  out, err = io.StringIO(), io.StringIO()
  call_command("rebuild_memory_index", *args, stdout=out, stderr=err)
  return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_rebuild_restores_search_with_a_progress_counter(customer, chat, say):
  # given: five messages, the index lost
  for n in range(5):
    say(f"доставка номер {n}")
  _wipe_index()
  assert message_search(customer=customer, chat=chat, query="доставку", limit=3) == []

  # when
  out, err = _run("--batch-size", "2")

  # then
  found = message_search(customer=customer, chat=chat, query="доставку", limit=3)
  assert [m.text for m in found] == ["доставка номер 4", "доставка номер 3", "доставка номер 2"]
  assert out.startswith("Indexed 5 messages in ")
  assert err.split("\r")[1:] == [
    "Indexing messages: 2/5 (40%)",
    "Indexing messages: 4/5 (80%)",
    "Indexing messages: 5/5 (100%)\n",
  ]


@pytest.mark.django_db
def test_rebuild_drops_rows_of_messages_that_no_longer_exist(customer, chat, say):
  kept = say("доставка")
  _wipe_index()

  _run()

  with connection.cursor() as cursor:
    if connection.vendor == "sqlite":
      cursor.execute("SELECT rowid FROM memory_message_fts")
      assert [row[0] for row in cursor.fetchall()] == [kept.pk]
    else:
      cursor.execute("SELECT id FROM memory_message WHERE search_vector IS NOT NULL")
      assert [row[0] for row in cursor.fetchall()] == [kept.pk]


@pytest.mark.django_db
def test_rebuild_repairs_missing_triggers(customer, chat, say):
  search_schema.uninstall(connection)

  _run()
  say("доставка после ремонта индекса")

  assert search_schema.problems(connection) == []
  assert [
    m.text for m in message_search(customer=customer, chat=chat, query="доставки", limit=3)
  ] == ["доставка после ремонта индекса"]


@pytest.mark.django_db
def test_rebuild_of_an_empty_database():
  out, err = _run()

  assert out.startswith("Indexed 0 messages")
  assert err == "\n"
  assert Message.objects.count() == 0


@pytest.mark.django_db
def test_rebuild_rejects_a_bad_batch_size():
  with pytest.raises(SystemExit) as exit_info:
    _run("--batch-size", "0")

  assert exit_info.value.code == 2


@pytest.fixture
def embeddings(db, settings, fake_llm):
  from tests.factories import llm_model_factory

  llm_model_factory(provider_model_name="fake/embed", base_url=fake_llm.base_url, active=False)
  settings.MEMORY_EMBEDDINGS_MODEL = "fake/embed"
  return fake_llm


def test_rebuild_with_embeddings_fills_the_missing_ones(embeddings, say):
  from memory.models import MessageEmbedding

  say("доставка")
  say("оплата")

  out, err = _run("--embeddings")

  assert MessageEmbedding.objects.count() == 2
  assert out.splitlines()[1] == "Embedded 2 messages."
  assert "Embedding messages: 2/2" in err


def test_rebuild_with_embeddings_needs_the_setting(db, settings):
  from django.core.management import CommandError

  settings.MEMORY_EMBEDDINGS_MODEL = ""

  with pytest.raises(CommandError, match="MEMORY_EMBEDDINGS_MODEL"):
    _run("--embeddings")


def test_rebuild_with_embeddings_reports_endpoint_errors(embeddings, say):
  from django.core.management import CommandError

  say("доставка")
  embeddings.enqueue_embeddings(status=401)

  with pytest.raises(CommandError, match="Embedding failed"):
    _run("--embeddings")
